from shared.models import Case
from tests import factories


def test_raising_a_case_gives_it_a_reference_and_owner(app, org):
    case = factories.raise_case(org.delivery)
    assert case.reference == f"AM-{case.id:06d}"
    assert case.owner in (org.sam, org.priya)
    assert isinstance(case, Case)

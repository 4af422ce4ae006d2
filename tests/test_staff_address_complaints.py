"""One address, one person: a complaint raised with a staff member's address is refused with a
request for a personal address, and is never attached to the staff account."""

import pytest
from sqlalchemy import func, select

from shared.extensions import db
from shared.models import Case
from shared.services import RuleViolation, accounts
from tests.support.html import error_summary, field_block, text_of, textarea_text

DESCRIPTION = "The courier left my parcel in the rain and the box was soaked through."
ASK_FOR_A_PERSONAL_ADDRESS = "Please use your personal email address"


def test_a_guest_complaint_with_a_staff_address_is_refused_beside_the_email(client, org):
    response = client.post("/complaints/new", data={
        "name": "Sam Taylor",
        "email": "SAM@example.com",
        "category": str(org.delivery.id),
        "description": DESCRIPTION,
    })

    assert response.status_code == 422
    html = text_of(response)
    assert ASK_FOR_A_PERSONAL_ADDRESS in error_summary(html)
    assert ASK_FOR_A_PERSONAL_ADDRESS in field_block(html, "email")
    assert textarea_text(html, "description") == DESCRIPTION
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


@pytest.mark.parametrize("person", ["sam", "manager", "admin"])
def test_no_staff_account_is_ever_made_the_customer(org, person):
    staff = getattr(org, person)
    with pytest.raises(RuleViolation) as refused:
        accounts.find_or_create_customer(email=staff.email, name="Someone")
    assert refused.value.field == "email"
    assert "staff" not in refused.value.message.lower()  # nor whose address it is


def test_a_customer_address_still_finds_the_customer(org, customer):
    assert accounts.find_or_create_customer(email="Alex@Example.com", name="A") == customer

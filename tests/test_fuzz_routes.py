"""No address, query or form makes the app fail: every route answers below 500.

For each kind of visitor (a guest, the customer whose case it is, another customer, an agent,
a manager, an administrator) the test walks every rule of the URL map and every method, and
sends what a careless or hostile client might: ids too large for the database, zero and
negative, text with astral characters, lone surrogates, NUL and 100 KB of it, in the path, in
the query string and in the form body, with fields missing or repeated. Real ids and the real
case reference are mixed in, so the requests reach the code behind the checks too.

Every route first gets the worst cases (worst_cases), then Hypothesis draws a few examples
(AMENDS_FUZZ_EXAMPLES raises it for a longer hunt). The data of one small organisation is made
once per visitor, not per example. A failure names the route and the request that broke it,
and the test goes on to the other routes first.
"""

import io
import os
import pkgutil
import re
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.routing.converters import IntegerConverter, NumberConverter
from wtforms import Form
from wtforms.fields.core import UnboundField

import backoffice
import portal
from shared import services
from shared.extensions import db
from shared.models import EmailStatus, EscalationLevel, OutgoingEmail
from shared.routing import database_id
from shared.services import commitments, escalations, remedies, tasks, understanding
from tests import factories

EXAMPLES_PER_ROUTE = int(os.environ.get("AMENDS_FUZZ_EXAMPLES", "2"))
PROJECT_ROOT = Path(__file__).resolve().parent.parent

HUGE_IDS = ["99999999999999999999", "2147483648", "9223372036854775808", "9" * 5000]
SMALL_IDS = ["0", "-1", "-2147483649", "007", "1.5", "1e3", "²", "٣"]
NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfff",
    "\U0010ffff",
    "😀" * 3,
    "a@\U0010ffff",
    "a@\ud7ff",
    "a@",
    "%",
    "\\",
    "x" * 100_000,
    "AM-99999999999999999999",
    "../../etc/passwd",
    "<script>",
]


# --- The organisation every visitor meets ---------------------------------------------------


@pytest.fixture
def world(org, customer):
    """One case of Alex's with something behind every id a route takes, and another
    customer who must not see it."""
    case = factories.case_owned_by(
        org.sam, org.delivery, customer=customer, attachments=[factories.upload()]
    )
    understanding.propose_understanding(case, actor=org.sam, text="You want a new kettle.")
    remedies.offer_options(case, actor=org.sam, descriptions=["A refund", "A new kettle"])
    commitments.make_commitment(
        case, actor=org.sam, description="call you back", due_at=factories.in_hours(30)
    )
    tasks.create_task(
        case,
        actor=org.priya,
        title="Check the camera",
        assignee=org.sam,
        due_at=factories.in_hours(30),
    )
    escalations.request_escalation(
        case,
        actor=org.sam,
        level=EscalationLevel.TEAM_MANAGER,
        reason="The courier will not answer.",
        needs=["people"],
    )
    factories.make_saved_reply(updated_by=org.sam)
    stranger = factories.make_customer("blake@example.com", "Blake Stone")
    services.commit()
    db.session.scalars(select(OutgoingEmail)).first().status = EmailStatus.FAILED
    db.session.commit()
    return SimpleNamespace(org=org, customer=customer, stranger=stranger, case=case)


def visitor_of(role: str, world):
    org = world.org
    return {
        "guest": None,
        "customer": world.customer,
        "other customer": world.stranger,
        "agent": org.sam,
        "manager": org.manager,
        "admin": org.admin,
    }[role]


def real_ids() -> list[str]:
    """Every id in use, whatever its table: a route given one reaches its real work."""
    ids = set()
    for table in db.metadata.sorted_tables:
        if "id" in table.c:
            ids.update(db.session.execute(select(table.c.id)).scalars())
    return sorted(str(value) for value in ids)


# --- What a request may carry ---------------------------------------------------------------


def field_names() -> list[str]:
    """The names the app reads: every form field (with its form's prefix) and every value a
    view reads from the query string or form by name."""
    names = set()
    for package in (portal, backoffice):
        for module_info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = __import__(module_info.name, fromlist=["*"])
            for thing in vars(module).values():
                if isinstance(thing, type) and issubclass(thing, Form):
                    prefix = getattr(thing, "form_prefix", "")
                    for name in dir(thing):
                        if isinstance(getattr(thing, name, None), UnboundField):
                            names.add(f"{prefix}-{name}" if prefix else name)
    read_by_name = re.compile(r"\b(?:args|form|values)\.get(?:list)?\(\s*\"([^\"]+)\"")
    for folder in ("portal", "backoffice", "shared"):
        for source in (PROJECT_ROOT / folder).glob("*.py"):
            names.update(read_by_name.findall(source.read_text()))
    return sorted(names)


def values(reference: str, ids: list[str]):
    return st.one_of(
        st.sampled_from([*HUGE_IDS, *SMALL_IDS, *NASTY_TEXT]),
        st.sampled_from([reference, *ids]),
        st.text(max_size=20),
        st.text(st.characters(codec=None, categories=["Cs", "Co", "Cc", "So", "Nd"]), max_size=8),
        st.integers().map(str),
    )


def path_values(is_number: bool, reference: str, ids: list[str]):
    if is_number:
        return st.one_of(st.sampled_from([*HUGE_IDS, *SMALL_IDS, *ids]), st.integers().map(str))
    return values(reference, ids)


def encoded(text: str) -> str:
    # surrogatepass: a lone surrogate goes on the wire as the bytes a broken client sends.
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def encoded_pairs(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{encoded(name)}={encoded(value)}" for name, value in pairs)


def path_of(rule, value_of) -> str:
    """The rule's address with `value_of(is_number)` in each of its variables."""
    path = rule.rule
    for name, converter in rule._converters.items():
        value = encoded(value_of(isinstance(converter, NumberConverter)))
        path = re.sub(rf"<[^>]*:?{name}>", lambda _match, v=value: v, path)
    return path


def request_of(rule, reference: str, ids: list[str], names: list[str]):
    """A strategy for one request to `rule`: its path, query string, form body and headers."""
    pairs = st.lists(
        st.tuples(st.sampled_from(names) | st.text(max_size=5), values(reference, ids)), max_size=6
    )

    @st.composite
    def build(draw):
        path = path_of(rule, lambda is_number: draw(path_values(is_number, reference, ids)))
        query, form = draw(pairs), draw(pairs)
        # The same field twice, as a tampered form sends it.
        if form and draw(st.booleans()):
            form = [*form, form[0]]
        headers = {"HX-Request": "true"} if draw(st.booleans()) else {}
        return path, encoded_pairs(query), encoded_pairs(form), headers

    return build()


def worst_cases(rule, reference: str, names: list[str]) -> list[tuple]:
    """Sent to every route whatever Hypothesis draws: ids past what the database holds (on
    SQLite, then on PostgreSQL) in the address and in every field the app reads, and a search
    term whose address range once had no upper bound."""
    requests = []
    for id_value, text in (
        ("99999999999999999999", "99999999999999999999"),
        ("2147483648", "a@\U0010ffff"),
    ):
        path = path_of(rule, lambda is_number, v=id_value: v if is_number else reference)
        fields = encoded_pairs([(name, text) for name in names])
        requests.append((path, fields, fields, {}))
    return requests


# --- The walk --------------------------------------------------------------------------------

ROLES = ["guest", "customer", "other customer", "agent", "manager", "admin"]


@pytest.mark.parametrize("role", ROLES)
def test_no_route_answers_with_a_server_error(role, app, client, login_as, world):
    visitor = visitor_of(role, world)
    reference, ids, names = world.case.reference, real_ids(), field_names()
    failures = []

    def send(method, path, query, form, headers):
        response = client.open(
            path,
            method=method,
            query_string=query,
            data=form,
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )
        status = response.status_code
        response.close()  # a file sent (an attachment, the icon) is open until then
        assert status < 500, f"{status} for {method} {path[:200]}?{query[:200]} {form[:200]}"

    def walk_of(rule, method):
        @settings(
            max_examples=EXAMPLES_PER_ROUTE,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(request=request_of(rule, reference, ids, names))
        def answers_below_500(request):
            send(method, *request)

        for request in worst_cases(rule, reference, names):
            answers_below_500 = example(request=request)(answers_below_500)
        return answers_below_500

    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if visitor is not None:
                login_as(visitor)  # again for each route: one may have signed them out
            try:
                walk_of(rule, method)()
            except Exception as failure:  # noqa: BLE001 - every route is tried before failing
                failures.append(
                    f"{method} {rule.rule}: {type(failure).__name__}: {str(failure)[:500]}"
                )
    assert not failures, "\n".join(failures)


def test_the_walk_knows_the_fields_views_read(app):
    """The names sent include form fields and the values views read by name."""
    names = field_names()
    assert {"q", "email_id", "saved_reply", "description", "escalation-reason"} <= set(names)


@pytest.mark.parametrize("text", ["1", " 42 ", "2147483647"])
def test_a_database_id_is_a_whole_number_a_row_can_have(text):
    assert database_id(text) == int(text)


@pytest.mark.parametrize("text", ["0", "-1", "2147483648", "99999999999999999999", "٣", "1e3", ""])
def test_anything_else_is_no_database_id(text):
    with pytest.raises(ValueError):
        database_id(text)


def test_every_id_in_an_address_is_a_database_id(app):
    """Routes name rows with <id:...>, never <int:...>, so no id is too large to look up."""
    int_rules = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if any(type(converter) is IntegerConverter for converter in rule._converters.values())
    ]
    assert int_rules == []


@pytest.mark.parametrize("who", ["customer", "agent"])
@pytest.mark.parametrize("attachment_id", ["99999999999999999999", "2147483648", "0"])
def test_an_attachment_id_too_large_for_the_database_is_not_found(
    who, attachment_id, app, login_as, world
):
    person = world.customer if who == "customer" else world.org.sam
    prefix = "" if who == "customer" else "/staff"
    client = login_as(person)

    response = client.get(f"{prefix}/cases/{world.case.reference}/files/{attachment_id}")

    assert response.status_code == 404


def test_ids_too_large_for_the_database_in_forms_and_queries_are_not_found(app, login_as, world):
    too_large = "2147483648"  # one past PostgreSQL's INTEGER
    admin = login_as(world.org.admin)
    retried = admin.post("/staff/admin/outbox/retry", data={"email_id": "99999999999999999999"})
    assert retried.status_code == 404
    listed = admin.get("/staff/notifications", query_string={"before": too_large})
    assert listed.status_code == 200  # the first page

    agent = login_as(world.org.sam)
    marked = agent.post("/staff/notifications/read", data={"notification_id": too_large})
    assert marked.status_code == 404
    # An id no reply can have is no reply chosen: the page asks for one.
    filled = agent.get(
        f"/staff/cases/{world.case.reference}/saved-reply", query_string={"saved_reply": too_large}
    )
    assert filled.status_code == 422


@pytest.mark.parametrize("role", ["guest", "customer"])
@pytest.mark.parametrize("where", ["path", "query", "form"])
def test_a_nul_character_anywhere_is_a_bad_request(role, where, app, client, login_as, world):
    """PostgreSQL text cannot hold NUL; SQLite would store it. Both refuse it alike."""
    if role == "customer":
        login_as(world.customer)
    path = f"/cases/{world.case.reference}%00" if where == "path" else "/sign-in"
    response = client.open(
        path,
        method="POST" if where == "form" else "GET",
        query_string="next=%2Fcases%00" if where == "query" else "",
        data="email=alex%40example.com%00&password=x" if where == "form" else "",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400


def test_a_nul_character_in_an_uploaded_file_name_is_a_bad_request(app, client, world):
    complaint = {
        "category": str(world.org.delivery.id),
        "description": "My parcel arrived crushed.",
        "name": "Alex Carter",
        "email": "alex@example.com",
        "attachments": (io.BytesIO(factories.PNG_BYTES), "photo\x00.png"),
    }
    response = client.post("/complaints/new", data=complaint, content_type="multipart/form-data")

    assert response.status_code == 400

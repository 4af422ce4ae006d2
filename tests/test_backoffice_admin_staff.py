"""Admin pages for staff: the list, inviting people, roles and teams, deactivating, away."""

import re
import time

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from shared import queries, services
from shared.extensions import db
from shared.models import (
    CaseStatus,
    EventKind,
    OutgoingEmail,
    Role,
    Team,
    TimelineEvent,
    User,
    Visibility,
)
from shared.services import RuleViolation
from shared.services import admin as admin_actions
from shared.tokens import SET_PASSWORD, make_link_token
from tests import factories
from tests.support.html import error_beside, input_value

NEW_PASSWORD = "a long walk on the pier"
LINK = re.compile(r"http://localhost(/staff/account/password/[A-Za-z0-9._-]+)")


def new_staff_form(org, **changes) -> dict:
    data = {"name": "Kim Novak", "email": "kim@example.com", "role": "agent",
            "team": org.billing.id}
    data.update(changes)
    return data


def invitation_to(email: str) -> OutgoingEmail:
    message = db.session.scalars(
        select(OutgoingEmail)
        .where(OutgoingEmail.kind == "staff_invitation", OutgoingEmail.recipient == email)
        .order_by(OutgoingEmail.id.desc())
    ).first()
    assert message is not None, f"no invitation to {email}"
    return message


def link_in(message: OutgoingEmail) -> str:
    return LINK.search(message.text_body).group(1)


def staff_sign_in(client, email, password):
    return client.post("/staff/login", data={"email": email, "password": password})


def open_cases_of(owner, org, count, *, resolved=0):
    cases = []
    for number in range(count + resolved):
        case = factories.raise_case(org.delivery, email=f"customer{owner.id}-{number}@example.com")
        case.owner = owner
        if number >= count:
            case.status = CaseStatus.RESOLVED
        cases.append(case)
    services.commit()
    return cases


# --- The list -------------------------------------------------------------------------------


def test_staff_are_listed_with_role_team_state_and_open_cases(org, login_as):
    open_cases_of(org.sam, org, 2, resolved=1)
    org.priya.away = True
    org.jo.active = False
    db.session.commit()

    page = login_as(org.admin).get("/staff/admin/staff").get_data(as_text=True)

    def row_of(name):
        start = page.index(f">{name}</a>")
        return page[start:page.index("</tr>", start)]

    sam = row_of("Sam Taylor")
    assert "sam@example.com" in sam and "Agent" in sam and "Customer care" in sam
    assert "Active" in sam
    assert '<td class="num">2</td>' in sam
    assert "Away" in row_of("Priya Shah")
    assert "Deactivated" in row_of("Jo Evans")
    assert "Administrator" in row_of("Ada Admin") and "No team" in row_of("Ada Admin")
    assert "alex@example.com" not in page  # customers are not staff
    # Active people first: the deactivated come last.
    assert page.index("Sam Taylor") < page.index("Jo Evans")


def test_the_staff_list_reads_the_same_number_of_queries_for_6_or_41_people(
    org, login_as, client, count_queries
):
    client = login_as(org.admin)
    db.session.expire_all()  # as in a fresh request: nothing already loaded
    with count_queries() as few:
        assert client.get("/staff/admin/staff").status_code == 200

    teams = [Team(name=f"Team {number}") for number in range(5)]
    db.session.add_all(teams)
    for number in range(35):
        person = factories.make_user(f"agent{number}@example.com", f"Agent {number}",
                                     Role.AGENT, teams[number % 5], away=number % 7 == 0)
        open_cases_of(person, org, number % 3)
    db.session.commit()
    assert db.session.scalar(
        select(db.func.count(User.id)).where(User.role != Role.CUSTOMER)
    ) == 41

    db.session.expire_all()
    with count_queries() as many:
        page = client.get("/staff/admin/staff").get_data(as_text=True)

    assert "Agent 34" in page
    assert len(many) == len(few)
    assert len(many) <= 4


# --- Adding someone -------------------------------------------------------------------------


def test_admin_adds_a_staff_member_who_is_emailed_a_link(org, login_as):
    client = login_as(org.admin)
    response = client.post("/staff/admin/staff/new", data=new_staff_form(org))

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/admin/staff"
    assert "Kim Novak can now use the back office" in client.get(
        "/staff/admin/staff"
    ).get_data(as_text=True)
    kim = User.by_email("kim@example.com")
    assert (kim.name, kim.role, kim.team, kim.active, kim.has_password) == (
        "Kim Novak", Role.AGENT, org.billing, True, False
    )
    invitation = invitation_to("kim@example.com")
    assert "Ada Admin has given you an account" in invitation.text_body
    assert "as agent" in invitation.text_body
    assert LINK.search(invitation.text_body)
    assert LINK.search(invitation.html_body)
    assert "http://localhost/staff/login" in invitation.text_body


class TestInvitationOverSmtp:
    @pytest.fixture
    def app_config(self, smtp_app_config):
        return smtp_app_config

    def test_the_invitation_reaches_the_new_colleagues_inbox(self, org, login_as,
                                                             smtp_server):
        login_as(org.admin).post("/staff/admin/staff/new", data=new_staff_form(org))

        [received] = smtp_server.messages
        message = received["message"]
        assert message["To"] == "kim@example.com"
        assert "back-office account" in message["Subject"]
        text = message.get_body(("plain",)).get_content()
        assert LINK.search(text)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "SAM@example.com"}, "email",
         "Someone already has an account with that email address."),
        ({"email": "not an address"}, "email", "Enter an email address like name@example.com"),
        ({"name": ""}, "name", "Enter their full name"),
        ({"team": 0}, "team", "Choose the team this person works in."),
        ({"role": "customer"}, "role", "Choose agent, manager or administrator"),
    ],
    ids=["email-taken", "bad-email", "no-name", "agent-without-team", "unknown-role"],
)
def test_bad_staff_details_are_refused_beside_the_field(org, login_as, changes, field, message):
    response = login_as(org.admin).post("/staff/admin/staff/new",
                                        data=new_staff_form(org, **changes))

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_beside(page, field) == message
    typed = new_staff_form(org, **changes)
    assert input_value(page, "name") == typed["name"]
    assert input_value(page, "email") == typed["email"]
    assert db.session.scalars(
        select(OutgoingEmail).where(OutgoingEmail.kind == "staff_invitation")
    ).first() is None


def test_an_administrator_may_have_no_team(org, login_as):
    response = login_as(org.admin).post(
        "/staff/admin/staff/new", data=new_staff_form(org, role="admin", team=0)
    )
    assert response.status_code == 302
    assert User.by_email("kim@example.com").team is None


# --- Choosing a password from the link ------------------------------------------------------


@pytest.fixture
def kim_link(org, login_as, client):
    login_as(org.admin).post("/staff/admin/staff/new", data=new_staff_form(org))
    client.post("/staff/logout")
    return link_in(invitation_to("kim@example.com"))


def choose_password(client, link, password=NEW_PASSWORD, confirm=None):
    return client.post(link, data={"password": password, "confirm": confirm or password})


def test_the_link_lets_the_new_colleague_choose_a_password_once(client, kim_link):
    page = client.get(kim_link)
    assert page.status_code == 200
    assert "Choose your password" in page.get_data(as_text=True)

    response = choose_password(client, kim_link)

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"
    kim = User.by_email("kim@example.com")
    assert kim.check_password(NEW_PASSWORD)
    assert kim.email_verified_at is not None
    client.post("/staff/logout")
    assert staff_sign_in(client, "kim@example.com", NEW_PASSWORD).status_code == 302

    again = client.get(kim_link)
    reuse = choose_password(client, kim_link, password="somebody else's password")
    assert again.status_code == 400
    assert "This link has already been used" in again.get_data(as_text=True)
    assert reuse.status_code == 400
    assert User.by_email("kim@example.com").check_password(NEW_PASSWORD)


def test_short_or_mismatched_passwords_are_refused(client, kim_link):
    short = choose_password(client, kim_link, password="short")
    mismatch = choose_password(client, kim_link, confirm="not the same at all")

    assert short.status_code == 422
    assert error_beside(short.get_data(as_text=True), "password") == (
        "Use at least 12 characters"
    )
    assert mismatch.status_code == 422
    assert error_beside(mismatch.get_data(as_text=True), "confirm") == (
        "The two passwords do not match"
    )
    assert not User.by_email("kim@example.com").has_password


def test_a_tampered_link_is_refused(client, kim_link):
    assert client.get(kim_link + "x").status_code == 400


def test_the_link_expires_after_three_days(client, org, monkeypatch):
    stamp = int(time.time()) - 4 * 24 * 3600
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: stamp)
        token = make_link_token(SET_PASSWORD, org.sam)

    response = client.get(f"/staff/account/password/{token}")

    assert response.status_code == 410
    assert "This link has expired" in response.get_data(as_text=True)


def test_staff_and_customer_password_links_work_only_on_their_own_side(client, org):
    customer = factories.make_customer()
    db.session.commit()

    customer_link_on_staff_side = client.get(
        f"/staff/account/password/{make_link_token(SET_PASSWORD, customer)}"
    )
    staff_link_on_portal = client.get(
        f"/account/password/{make_link_token(SET_PASSWORD, org.sam)}"
    )

    assert customer_link_on_staff_side.status_code == 400
    assert staff_link_on_portal.status_code == 400


def test_a_deactivated_persons_link_no_longer_works(client, org, kim_link):
    User.by_email("kim@example.com").active = False
    db.session.commit()

    assert client.get(kim_link).status_code == 400
    assert choose_password(client, kim_link).status_code == 400


def test_admin_emails_a_new_password_link(org, login_as):
    client = login_as(org.admin)
    response = client.post(f"/staff/admin/staff/{org.sam.id}/invitation")

    assert response.status_code == 302
    assert "We have emailed Sam Taylor a new link" in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    message = invitation_to("sam@example.com")
    assert "choose a new password" in message.text_body
    client.post("/staff/logout")
    assert choose_password(client, link_in(message)).status_code == 302
    assert staff_sign_in(client, "sam@example.com", NEW_PASSWORD).status_code == 302


# --- Role and team --------------------------------------------------------------------------


def test_admin_changes_a_persons_role_and_team(org, login_as):
    client = login_as(org.admin)
    page = client.get(f"/staff/admin/staff/{org.sam.id}").get_data(as_text=True)
    assert '<input checked id="role-0" name="role" required type="radio" value="agent">' in page
    assert f'<option selected value="{org.care.id}">Customer care</option>' in page

    response = client.post(f"/staff/admin/staff/{org.sam.id}",
                           data={"role": "manager", "team": org.billing.id})

    assert response.status_code == 302
    assert "Sam Taylor’s role and team are saved." in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    db.session.expire_all()
    assert (org.sam.role, org.sam.team) == (Role.MANAGER, org.billing)


def test_an_admin_cannot_change_their_own_role(org, login_as):
    response = login_as(org.admin).post(f"/staff/admin/staff/{org.admin.id}",
                                        data={"role": "agent", "team": org.care.id})

    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "role") == (
        "You cannot change your own role: ask another administrator."
    )
    db.session.expire_all()
    assert org.admin.role == Role.ADMIN


def test_a_team_manager_cannot_become_an_agent_until_replaced(org, login_as):
    response = login_as(org.admin).post(f"/staff/admin/staff/{org.manager.id}",
                                        data={"role": "agent", "team": org.care.id})

    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "role") == (
        "Morgan Lee manages Customer care: choose another manager for it first."
    )
    db.session.expire_all()
    assert org.manager.role == Role.MANAGER


def test_customers_have_no_staff_page(org, login_as):
    customer = factories.make_customer()
    db.session.commit()
    assert login_as(org.admin).get(f"/staff/admin/staff/{customer.id}").status_code == 404


# --- Deactivating ---------------------------------------------------------------------------


def test_deactivating_someone_notes_it_on_each_of_their_open_cases(org, login_as):
    open_one, open_two, resolved = open_cases_of(org.sam, org, 2, resolved=1)
    client = login_as(org.admin)

    response = client.post(f"/staff/admin/staff/{org.sam.id}/deactivate")

    assert response.status_code == 302
    notice = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Sam Taylor is deactivated and can no longer sign in." in notice
    assert "Their 2 open cases now show in the Unassigned queue" in notice
    db.session.expire_all()
    assert org.sam.active is False
    for case in (open_one, open_two):
        assert case.owner_id == org.sam.id  # nothing is reassigned silently
        [note] = [e for e in queries.staff_timeline(case.id) if e.kind == EventKind.NOTE]
        assert note.visibility == Visibility.INTERNAL
        assert note.actor_id == org.admin.id
        assert "Sam Taylor, who owns this case, was deactivated by Ada Admin" in note.body
        assert note not in queries.public_timeline(case.id)
    assert db.session.scalars(
        select(TimelineEvent).where(TimelineEvent.case_id == resolved.id,
                                    TimelineEvent.kind == EventKind.NOTE)
    ).first() is None


def test_a_deactivated_person_cannot_sign_in_or_keep_their_session(org, login_as, client):
    login_as(org.admin).post(f"/staff/admin/staff/{org.sam.id}/deactivate")

    login_as(org.sam)
    kept_session = client.get("/staff/")
    client.post("/staff/logout")
    signing_in = staff_sign_in(client, "sam@example.com", factories.PASSWORD)

    assert kept_session.status_code == 302
    assert kept_session.headers["Location"].startswith("/staff/login")
    assert signing_in.status_code == 422


def test_an_admin_cannot_deactivate_themselves(org, login_as):
    response = login_as(org.admin).post(f"/staff/admin/staff/{org.admin.id}/deactivate")

    assert response.status_code == 422
    assert "You cannot deactivate yourself" in response.get_data(as_text=True)
    db.session.expire_all()
    assert org.admin.active is True


def test_a_reactivated_person_can_sign_in_again(org, login_as, client):
    org.sam.active = False
    db.session.commit()
    client = login_as(org.admin)

    response = client.post(f"/staff/admin/staff/{org.sam.id}/reactivate")

    assert response.status_code == 302
    assert "Sam Taylor is active again" in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    client.post("/staff/logout")
    assert staff_sign_in(client, "sam@example.com", factories.PASSWORD).status_code == 302


def test_deactivating_twice_is_refused_with_a_message(org, login_as):
    org.sam.active = False
    db.session.commit()

    response = login_as(org.admin).post(f"/staff/admin/staff/{org.sam.id}/deactivate")

    assert response.status_code == 422
    assert "Sam Taylor is already deactivated." in response.get_data(as_text=True)


# --- Away -----------------------------------------------------------------------------------


def test_an_away_agent_gets_no_new_cases_until_marked_back(org, login_as):
    client = login_as(org.admin)
    response = client.post(f"/staff/admin/staff/{org.sam.id}/away")
    assert response.status_code == 302
    assert "Sam Taylor is marked away" in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)

    # Sam has fewer cases and the lower id: without "away" the next case would be Sam's.
    while_away = [factories.raise_case(org.delivery, email=f"c{n}@example.com")
                  for n in range(2)]
    services.commit()
    assert {case.owner for case in while_away} == {org.priya}

    assert client.post(f"/staff/admin/staff/{org.sam.id}/back").status_code == 302
    after = factories.raise_case(org.delivery, email="later@example.com")
    services.commit()
    assert after.owner == org.sam


def test_marking_away_keeps_the_persons_cases(org, login_as):
    [case] = open_cases_of(org.sam, org, 1)

    login_as(org.admin).post(f"/staff/admin/staff/{org.sam.id}/away")

    db.session.expire_all()
    assert org.sam.away is True
    assert case.owner_id == org.sam.id


def test_away_and_back_are_refused_when_already_so(org):
    with pytest.raises(RuleViolation, match="not marked away"):
        admin_actions.mark_back(org.sam, actor=org.admin)
    admin_actions.mark_away(org.sam, actor=org.admin)
    with pytest.raises(RuleViolation, match="already marked away"):
        admin_actions.mark_away(org.sam, actor=org.admin)

"""Admin pages: who may open them, the Settings overview, teams and categories."""

import re

import pytest
from flask_login import login_user
from sqlalchemy import func, select

from backoffice.navigation import navigation_for_current_user
from shared import queries, services
from shared.extensions import db
from shared.models import Category, Team, TimelineEvent
from shared.services import RuleViolation
from shared.services import admin as admin_actions
from tests import factories
from tests.support.html import csrf_token_of, error_beside, input_value


def admin_routes(org) -> list[tuple[str, str]]:
    """Every admin page and action, with real ids so that only the permission check differs."""
    calendar = org.service_level.calendar
    holiday = calendar.holidays[0]
    staff = f"/staff/admin/staff/{org.sam.id}"
    cause, product = factories.a_root_cause(), factories.a_product()
    db.session.commit()
    area = f"/staff/admin/causes/areas/{cause.area_id}"
    return [
        ("GET", "/staff/admin/"),
        ("GET", "/staff/admin/teams"),
        ("POST", "/staff/admin/teams"),
        ("GET", f"/staff/admin/teams/{org.care.id}"),
        ("POST", f"/staff/admin/teams/{org.care.id}/name"),
        ("POST", f"/staff/admin/teams/{org.care.id}/manager"),
        ("GET", "/staff/admin/staff"),
        ("GET", "/staff/admin/staff/new"),
        ("POST", "/staff/admin/staff/new"),
        ("GET", staff),
        ("POST", staff),
        ("POST", f"{staff}/deactivate"),
        ("POST", f"{staff}/reactivate"),
        ("POST", f"{staff}/away"),
        ("POST", f"{staff}/back"),
        ("POST", f"{staff}/invitation"),
        ("POST", f"{staff}/two-step/reset"),
        ("POST", f"{staff}/redress-limit"),
        ("GET", "/staff/admin/causes"),
        ("POST", "/staff/admin/causes"),
        ("GET", area),
        ("POST", f"{area}/name"),
        ("POST", f"{area}/causes"),
        ("POST", f"{area}/retire"),
        ("POST", f"{area}/restore"),
        ("GET", f"/staff/admin/causes/{cause.id}"),
        ("POST", f"/staff/admin/causes/{cause.id}"),
        ("POST", f"/staff/admin/causes/{cause.id}/retire"),
        ("POST", f"/staff/admin/causes/{cause.id}/restore"),
        ("GET", "/staff/admin/products"),
        ("POST", "/staff/admin/products"),
        ("GET", f"/staff/admin/products/{product.id}"),
        ("POST", f"/staff/admin/products/{product.id}"),
        ("POST", f"/staff/admin/products/{product.id}/retire"),
        ("POST", f"/staff/admin/products/{product.id}/restore"),
        ("GET", "/staff/admin/categories"),
        ("GET", "/staff/admin/categories/new"),
        ("POST", "/staff/admin/categories/new"),
        ("GET", f"/staff/admin/categories/{org.delivery.id}"),
        ("POST", f"/staff/admin/categories/{org.delivery.id}"),
        ("GET", "/staff/admin/service-levels"),
        ("GET", "/staff/admin/service-levels/new"),
        ("POST", "/staff/admin/service-levels/new"),
        ("GET", f"/staff/admin/service-levels/{org.service_level.id}"),
        ("POST", f"/staff/admin/service-levels/{org.service_level.id}"),
        ("GET", "/staff/admin/calendars"),
        ("GET", "/staff/admin/calendars/new"),
        ("POST", "/staff/admin/calendars/new"),
        ("GET", f"/staff/admin/calendars/{calendar.id}"),
        ("POST", f"/staff/admin/calendars/{calendar.id}"),
        ("POST", f"/staff/admin/calendars/{calendar.id}/holidays"),
        ("POST", f"/staff/admin/calendars/{calendar.id}/holidays/{holiday.id}/remove"),
        ("GET", "/staff/admin/outbox"),
        ("POST", "/staff/admin/outbox/retry"),
    ]


def request(client, method, url, data=None):
    return client.open(url, method=method, data=data or {})


# --- Who may open the admin pages -----------------------------------------------------------


def test_the_list_of_admin_routes_covers_every_admin_url(app, org):
    listed = {(method, re.sub(r"/\d+", "/<id>", url)) for method, url in admin_routes(org)}
    registered = {
        (method, re.sub(r"<[^>]+>", "<id>", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/staff/admin")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert registered == listed


@pytest.mark.parametrize("who", ["sam", "manager"])
def test_agents_and_managers_are_refused_every_admin_page_and_action(org, login_as, who):
    client = login_as(getattr(org, who))
    for method, url in admin_routes(org):
        assert request(client, method, url).status_code == 403, (method, url)


def test_customers_are_refused_every_admin_page_and_action(org, login_as):
    client = login_as(factories.make_customer())
    db.session.commit()
    for method, url in admin_routes(org):
        assert request(client, method, url).status_code == 403, (method, url)


def test_signed_out_visitors_are_sent_to_the_staff_sign_in(org, client):
    for method, url in admin_routes(org):
        response = request(client, method, url)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/staff/login?next="), (method, url)


def test_a_refused_manager_changes_nothing(org, login_as):
    client = login_as(org.manager)
    client.post(f"/staff/admin/staff/{org.sam.id}/deactivate")
    client.post(f"/staff/admin/teams/{org.care.id}/name", data={"name": "Renamed"})

    db.session.expire_all()
    assert org.sam.active is True
    assert org.care.name == "Customer care"


def test_settings_is_in_the_navigation_of_admins_only(app, org):
    def labels_for(user):
        with app.test_request_context("/staff/"):
            login_user(user)
            return [item.label for item, _ in navigation_for_current_user()]

    assert "Settings" in labels_for(org.admin)
    assert "Settings" not in labels_for(org.manager)
    assert "Settings" not in labels_for(org.sam)


def test_the_overview_links_every_area_with_what_is_in_it(org, login_as):
    response = login_as(org.admin).get("/staff/admin/")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/staff/admin/" aria-current="page">Settings</a>' in page
    for area in ["staff", "teams", "categories", "causes", "products", "service-levels",
                 "calendars"]:
        assert f'href="/staff/admin/{area}"' in page
    active_staff = sum(1 for person in vars(org).values() if getattr(person, "is_staff", False))
    assert f"{active_staff} active" in page
    assert "2 teams" in page
    assert "3 of 3 open to customers" in page


# --- Teams ----------------------------------------------------------------------------------


def test_teams_are_listed_with_their_manager_and_active_members(org, login_as):
    org.priya.active = False
    db.session.commit()

    page = login_as(org.admin).get("/staff/admin/teams").get_data(as_text=True)

    care_row = page[page.index("Customer care"):page.index("</tr>", page.index("Customer care"))]
    assert "Morgan Lee" in care_row
    assert '<td class="num">2</td>' in care_row  # Morgan and Sam; Priya is deactivated
    billing_row = page[page.index(">Billing<"):page.index("</tr>", page.index(">Billing<"))]
    assert "No manager" in billing_row
    assert '<td class="num">1</td>' in billing_row


def test_admin_creates_a_team_and_sees_a_notice(org, login_as):
    client = login_as(org.admin)
    response = client.post("/staff/admin/teams", data={"name": "  Field service "})

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/admin/teams"
    page = client.get("/staff/admin/teams").get_data(as_text=True)
    assert "Team “Field service” created." in page
    assert db.session.scalar(select(Team).where(Team.name == "Field service")) is not None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("billing", "There is already a team called “billing”. Choose another name."),
        ("", "Enter the team&#39;s name"),
    ],
    ids=["duplicate-whatever-the-capitals", "empty"],
)
def test_a_team_name_must_be_given_and_unique(org, login_as, typed, message):
    response = login_as(org.admin).post("/staff/admin/teams", data={"name": typed})

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_beside(page, "name") == message
    assert input_value(page, "name") == typed
    assert db.session.scalar(select(func.count(Team.id))) == 2


def test_admin_renames_a_team(org, login_as):
    client = login_as(org.admin)
    response = client.post(f"/staff/admin/teams/{org.care.id}/name", data={"name": "Care"})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/admin/teams/{org.care.id}"
    assert "Team renamed to “Care”." in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    db.session.expire_all()
    assert org.care.name == "Care"


def test_renaming_a_team_to_another_teams_name_is_refused_keeping_the_input(org, login_as):
    response = login_as(org.admin).post(
        f"/staff/admin/teams/{org.care.id}/name", data={"name": "BILLING"}
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_beside(page, "name") == (
        "There is already a team called “BILLING”. Choose another name."
    )
    assert input_value(page, "name") == "BILLING"
    db.session.expire_all()
    assert org.care.name == "Customer care"


def test_renaming_a_team_to_its_own_name_in_other_capitals_is_allowed(org, login_as):
    response = login_as(org.admin).post(
        f"/staff/admin/teams/{org.care.id}/name", data={"name": "Customer Care"}
    )
    assert response.status_code == 302


def test_admin_chooses_the_manager_of_a_team(org, login_as):
    client = login_as(org.admin)
    page = client.get(f"/staff/admin/teams/{org.billing.id}").get_data(as_text=True)
    assert f'<option value="{org.manager.id}">Morgan Lee (Manager)</option>' in page
    assert "Jo Evans" in page  # a member, not a choice of manager
    assert f'<option value="{org.jo.id}"' not in page

    response = client.post(
        f"/staff/admin/teams/{org.billing.id}/manager", data={"manager": org.manager.id}
    )

    assert response.status_code == 302
    assert "Morgan Lee now manages Billing." in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    db.session.expire_all()
    assert org.billing.manager_id == org.manager.id


def test_a_team_can_be_left_without_a_manager(org, login_as):
    response = login_as(org.admin).post(
        f"/staff/admin/teams/{org.care.id}/manager", data={"manager": 0}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert org.care.manager_id is None


def test_an_agent_or_a_deactivated_manager_cannot_manage_a_team(org, login_as):
    response = login_as(org.admin).post(
        f"/staff/admin/teams/{org.billing.id}/manager", data={"manager": org.jo.id}
    )

    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "manager") == (
        "Choose an active manager or administrator"
    )
    db.session.expire_all()
    assert org.billing.manager_id is None
    org.manager.active = False
    with pytest.raises(RuleViolation, match="active manager or administrator"):
        admin_actions.set_team_manager(org.billing, actor=org.admin, manager=org.manager)


# --- Categories -----------------------------------------------------------------------------


def category_form(org, **changes) -> dict:
    data = {
        "name": "Noise",
        "description": "Loud work, or engineers at night.",
        "default_team": org.billing.id,
        "service_level": org.service_level.id,
        "position": "4",
        "active": "y",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_categories_are_listed_in_the_order_customers_see_them(org, login_as):
    org.other.active = False
    db.session.commit()

    page = login_as(org.admin).get("/staff/admin/categories").get_data(as_text=True)

    assert page.index("Delivery") < page.index(">Billing<") < page.index("Something else")
    other_row = page[page.index("Something else"):page.index("</tr>", page.index("Something else"))]
    assert "Closed" in other_row
    assert "Customer care" in other_row and "Standard" in other_row


def test_admin_creates_a_category_that_customers_can_choose(org, login_as, client):
    response = login_as(org.admin).post("/staff/admin/categories/new", data=category_form(org))

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/admin/categories"
    assert "Category “Noise” created." in client.get("/staff/admin/categories").get_data(
        as_text=True
    )
    noise = db.session.scalar(select(Category).where(Category.name == "Noise"))
    assert (noise.default_team, noise.service_level, noise.position, noise.active) == (
        org.billing, org.service_level, 4, True
    )
    raise_page = client.get("/complaints/new").get_data(as_text=True)
    assert "Noise" in raise_page
    assert "Loud work, or engineers at night." in raise_page


def test_admin_edits_a_category(org, login_as, client):
    client = login_as(org.admin)
    form_page = client.get(f"/staff/admin/categories/{org.delivery.id}").get_data(as_text=True)
    assert input_value(form_page, "name") == "Delivery"

    response = client.post(
        f"/staff/admin/categories/{org.delivery.id}",
        data=category_form(org, name="Delivery and fitting", position="0"),
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert org.delivery.name == "Delivery and fitting"
    assert org.delivery.default_team == org.billing
    assert org.delivery.position == 0
    assert queries.active_categories()[0] == org.delivery


def test_a_closed_category_is_no_longer_offered_to_customers(org, login_as, client):
    response = login_as(org.admin).post(
        f"/staff/admin/categories/{org.other.id}", data=category_form(org, active=None)
    )

    assert response.status_code == 302
    assert org.other not in queries.active_categories()


def test_the_last_open_category_cannot_be_closed(org, login_as):
    org.delivery.active = org.bills.active = False
    db.session.commit()

    response = login_as(org.admin).post(
        f"/staff/admin/categories/{org.other.id}",
        data=category_form(org, name="Anything else", active=None),
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_beside(page, "active").startswith("Customers must always have a category")
    assert input_value(page, "name") == "Anything else"
    db.session.expire_all()
    assert (org.other.active, org.other.name) == (True, "Something else")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "billing"}, "name",
         "There is already a category called “billing”. Choose another name."),
        ({"name": ""}, "name", "Enter a name for the category"),
        ({"position": "first"}, "position", "Enter a whole number, like 3"),
        ({"position": "-1"}, "position", "Enter a position from 0 to 10000"),
        ({"position": ""}, "position", "Enter a position, like 1"),
    ],
    ids=["duplicate-name", "no-name", "position-not-a-number", "negative-position",
         "no-position"],
)
def test_bad_category_input_is_refused_beside_the_field(org, login_as, changes, field, message):
    response = login_as(org.admin).post(
        "/staff/admin/categories/new", data=category_form(org, **changes)
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_beside(page, field) == message
    assert "Loud work, or engineers at night." in page  # what was typed is kept
    assert db.session.scalar(select(func.count(Category.id))) == 3


def test_settings_changes_write_nothing_on_case_timelines(org, login_as):
    factories.raise_case(org.delivery)
    services.commit()  # the acknowledgement is delivered (and recorded) before counting
    events_before = db.session.scalar(select(func.count(TimelineEvent.id)))
    client = login_as(org.admin)

    client.post("/staff/admin/teams", data={"name": "Engineering"})
    client.post(f"/staff/admin/teams/{org.care.id}/name", data={"name": "Care"})
    client.post(f"/staff/admin/categories/{org.delivery.id}", data=category_form(org))
    client.post(f"/staff/admin/staff/{org.sam.id}/away")

    assert db.session.scalar(select(func.count(TimelineEvent.id))) == events_before


class TestFormsCarryTheirToken:
    """CSRF refusals are tested for every route elsewhere; here, the admin pages' own forms
    and buttons send the token they were given, so they work with protection on."""

    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_the_rename_form_and_the_deactivate_button_work(self, org, login_as):
        client = login_as(org.admin)
        team_page = client.get(f"/staff/admin/teams/{org.care.id}").get_data(as_text=True)
        rename = f"/staff/admin/teams/{org.care.id}/name"
        staff_page = client.get(f"/staff/admin/staff/{org.sam.id}").get_data(as_text=True)
        deactivate = f"/staff/admin/staff/{org.sam.id}/deactivate"

        renamed = client.post(rename, data={"name": "Care",
                                            "csrf_token": csrf_token_of(team_page, rename)})
        deactivated = client.post(deactivate,
                                  data={"csrf_token": csrf_token_of(staff_page, deactivate)})

        assert (renamed.status_code, deactivated.status_code) == (302, 302)


def test_the_teams_and_categories_lists_read_a_fixed_number_of_queries(
    org, login_as, count_queries
):
    client = login_as(org.admin)

    def queries_for(url):
        db.session.expire_all()
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    few = [queries_for("/staff/admin/teams"), queries_for("/staff/admin/categories")]
    for number in range(12):
        team = Team(name=f"Team {number}", manager=org.manager)
        db.session.add(Category(name=f"Category {number}", default_team=team,
                                service_level=org.service_level, position=number))
    db.session.commit()
    many = [queries_for("/staff/admin/teams"), queries_for("/staff/admin/categories")]

    assert many == few

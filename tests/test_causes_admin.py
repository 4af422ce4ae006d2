"""The managed lists (root causes in areas, products) and each staff member's redress limit:
the rules of shared.services.causes, and the admin pages that use them."""

import logging
import re

import pytest
from sqlalchemy import func, select

from shared.extensions import db
from shared.models import CauseArea, Product, RootCause, utcnow
from shared.services import RuleViolation, causes
from tests import factories
from tests.support.html import error_beside, input_value, text_of


@pytest.fixture
def lists(org):
    """Delivery (two causes and "Other"), Billing (one cause), and two products."""
    delivery = causes.create_area(actor=org.admin, name="Delivery")
    billing = causes.create_area(actor=org.admin, name="Billing")
    missed = causes.create_cause(delivery, actor=org.admin, name="Carrier missed the slot")
    other = causes.create_cause(delivery, actor=org.admin, name="Other", asks_for_words=True)
    damaged = causes.create_cause(delivery, actor=org.admin, name="Damaged in transit")
    tariff = causes.create_cause(billing, actor=org.admin, name="Tariff change not applied")
    broadband = causes.create_product(actor=org.admin, name="Home broadband")
    kettle = causes.create_product(actor=org.admin, name="Kettle")
    db.session.commit()
    return {
        "delivery": delivery, "billing": billing, "missed": missed, "other": other,
        "damaged": damaged, "tariff": tariff, "broadband": broadband, "kettle": kettle,
    }


def retired(thing):
    thing.retired_at = utcnow()
    db.session.commit()
    return thing


# --- The rules: unique names ----------------------------------------------------------------


def test_names_are_tidied_and_must_be_given(org):
    area = causes.create_area(actor=org.admin, name="  Field   service ")
    assert area.name == "Field service"
    for action in (
        lambda: causes.create_area(actor=org.admin, name="   "),
        lambda: causes.create_cause(area, actor=org.admin, name=""),
        lambda: causes.create_product(actor=org.admin, name=None),
    ):
        with pytest.raises(RuleViolation, match="Enter a name") as refused:
            action()
        assert refused.value.field == "name"


def test_area_names_are_unique_whatever_their_capitals(org, lists):
    with pytest.raises(RuleViolation) as refused:
        causes.create_area(actor=org.admin, name="DELIVERY")
    assert refused.value.message == (
        "There is already an area called “Delivery”. Choose another name."
    )
    assert refused.value.field == "name"
    with pytest.raises(RuleViolation, match="already"):
        causes.rename_area(lists["billing"], actor=org.admin, name="delivery")
    causes.rename_area(lists["delivery"], actor=org.admin, name="DELIVERY")  # its own name
    assert lists["delivery"].name == "DELIVERY"


def test_cause_names_are_unique_within_their_area_only(org, lists):
    with pytest.raises(RuleViolation, match="“Carrier missed the slot” in Delivery") as refused:
        causes.create_cause(lists["delivery"], actor=org.admin, name="carrier missed the SLOT")
    assert refused.value.field == "name"
    with pytest.raises(RuleViolation, match="already"):
        causes.update_cause(lists["damaged"], actor=org.admin, name="Other",
                            asks_for_words=False)
    # The same words in another area are another cause.
    elsewhere = causes.create_cause(lists["billing"], actor=org.admin, name="Other",
                                    asks_for_words=True)
    assert elsewhere.area == lists["billing"]


def test_product_names_are_unique(org, lists):
    with pytest.raises(RuleViolation, match="already a product or service called “Kettle”"):
        causes.create_product(actor=org.admin, name="kettle")
    with pytest.raises(RuleViolation, match="already"):
        causes.rename_product(lists["broadband"], actor=org.admin, name="KETTLE")
    causes.rename_product(lists["kettle"], actor=org.admin, name="Electric kettle")
    assert lists["kettle"].name == "Electric kettle"


def test_a_retired_name_is_still_taken_and_the_message_says_restore_it(org, lists):
    retired(lists["kettle"])
    with pytest.raises(RuleViolation, match="retired product or service called “Kettle”.*"
                       "Restore it instead"):
        causes.create_product(actor=org.admin, name="Kettle")
    retired(lists["damaged"])
    with pytest.raises(RuleViolation, match="retired cause called “Damaged in transit” in"
                       " Delivery"):
        causes.create_cause(lists["delivery"], actor=org.admin, name="Damaged in transit")


def test_names_longer_than_the_list_keeps_are_refused(org, lists):
    with pytest.raises(RuleViolation, match="no more than 120 characters"):
        causes.create_area(actor=org.admin, name="x" * 121)
    with pytest.raises(RuleViolation, match="no more than 160 characters"):
        causes.create_cause(lists["delivery"], actor=org.admin, name="x" * 161)
    with pytest.raises(RuleViolation, match="no more than 120 characters"):
        causes.create_product(actor=org.admin, name="x" * 121)


# --- The rules: retire and restore, never delete --------------------------------------------


def test_retiring_and_restoring_keeps_every_row(org, lists):
    causes.retire_cause(lists["missed"], actor=org.admin)
    causes.retire_area(lists["billing"], actor=org.admin)
    causes.retire_product(lists["kettle"], actor=org.admin)
    db.session.commit()

    assert lists["missed"].is_retired and lists["billing"].is_retired
    assert lists["kettle"].is_retired
    assert db.session.scalar(select(func.count(RootCause.id))) == 4
    assert db.session.scalar(select(func.count(CauseArea.id))) == 2
    assert db.session.scalar(select(func.count(Product.id))) == 2

    causes.restore_cause(lists["missed"], actor=org.admin)
    causes.restore_area(lists["billing"], actor=org.admin)
    causes.restore_product(lists["kettle"], actor=org.admin)
    assert not any(thing.is_retired for thing in
                   (lists["missed"], lists["billing"], lists["kettle"]))


def test_retiring_twice_or_restoring_what_is_in_use_says_so(org, lists):
    with pytest.raises(RuleViolation, match="nothing to restore"):
        causes.restore_cause(lists["missed"], actor=org.admin)
    with pytest.raises(RuleViolation, match="nothing to restore"):
        causes.restore_area(lists["delivery"], actor=org.admin)
    with pytest.raises(RuleViolation, match="nothing to restore"):
        causes.restore_product(lists["kettle"], actor=org.admin)
    for thing, retire in ((lists["missed"], causes.retire_cause),
                          (lists["billing"], causes.retire_area),
                          (lists["kettle"], causes.retire_product)):
        retire(thing, actor=org.admin)
        with pytest.raises(RuleViolation, match="already retired"):
            retire(thing, actor=org.admin)


def test_a_cause_in_a_retired_area_is_restored_after_its_area(org, lists):
    retired(lists["missed"])
    retired(lists["delivery"])
    with pytest.raises(RuleViolation, match="restore the area first"):
        causes.restore_cause(lists["missed"], actor=org.admin)
    causes.restore_area(lists["delivery"], actor=org.admin)
    causes.restore_cause(lists["missed"], actor=org.admin)
    assert not lists["missed"].is_retired


def test_the_last_cause_in_use_cannot_be_retired(org, lists):
    """Resolving needs a cause: the list may never be left without one to choose."""
    retired(lists["billing"])
    for cause in ("missed", "damaged"):
        causes.retire_cause(lists[cause], actor=org.admin)
    with pytest.raises(RuleViolation, match="“Other” is the only one in use"):
        causes.retire_cause(lists["other"], actor=org.admin)
    with pytest.raises(RuleViolation, match="“Delivery” holds the only ones in use"):
        causes.retire_area(lists["delivery"], actor=org.admin)
    # An area with nothing in use can go; so can a cause of a retired area.
    empty = causes.create_area(actor=org.admin, name="Empty")
    causes.retire_area(empty, actor=org.admin)
    causes.retire_cause(lists["tariff"], actor=org.admin)


ADMIN_ONLY_ACTIONS = {
    "create area": lambda lists, org, actor: causes.create_area(actor=actor, name="New"),
    "rename area": lambda lists, org, actor: causes.rename_area(
        lists["delivery"], actor=actor, name="New"),
    "retire area": lambda lists, org, actor: causes.retire_area(lists["billing"], actor=actor),
    "restore area": lambda lists, org, actor: causes.restore_area(retired(lists["billing"]),
                                                                  actor=actor),
    "create cause": lambda lists, org, actor: causes.create_cause(
        lists["delivery"], actor=actor, name="New"),
    "update cause": lambda lists, org, actor: causes.update_cause(
        lists["missed"], actor=actor, name="New", asks_for_words=False),
    "retire cause": lambda lists, org, actor: causes.retire_cause(lists["missed"], actor=actor),
    "restore cause": lambda lists, org, actor: causes.restore_cause(retired(lists["missed"]),
                                                                    actor=actor),
    "create product": lambda lists, org, actor: causes.create_product(actor=actor, name="New"),
    "rename product": lambda lists, org, actor: causes.rename_product(
        lists["kettle"], actor=actor, name="New"),
    "retire product": lambda lists, org, actor: causes.retire_product(lists["kettle"],
                                                                      actor=actor),
    "restore product": lambda lists, org, actor: causes.restore_product(
        retired(lists["kettle"]), actor=actor),
    "set limit": lambda lists, org, actor: causes.set_redress_limit(
        org.sam, actor=actor, amount_minor=100),
}


@pytest.mark.parametrize("action", ADMIN_ONLY_ACTIONS)
def test_only_active_admins_change_the_lists_and_limits(org, lists, action):
    for person in (org.sam, org.manager, org.head):
        with pytest.raises(RuleViolation, match="Only an administrator"):
            ADMIN_ONLY_ACTIONS[action](lists, org, person)
    org.admin.active = False
    with pytest.raises(RuleViolation, match="Only an administrator"):
        ADMIN_ONLY_ACTIONS[action](lists, org, org.admin)


# --- The rules: what people choose from -----------------------------------------------------


def test_cause_choices_are_grouped_by_area_with_other_last(org, lists):
    assert causes.cause_choices() == [
        ("Billing", [(lists["tariff"].id, "Tariff change not applied", False)]),
        ("Delivery", [
            (lists["missed"].id, "Carrier missed the slot", False),
            (lists["damaged"].id, "Damaged in transit", False),
            (lists["other"].id, "Other", True),
        ]),
    ]


def test_retired_causes_and_areas_leave_the_choices(org, lists):
    retired(lists["damaged"])
    retired(lists["billing"])

    assert causes.cause_choices() == [
        ("Delivery", [
            (lists["missed"].id, "Carrier missed the slot", False),
            (lists["other"].id, "Other", True),
        ]),
    ]


def test_the_current_cause_stays_a_choice_even_when_retired(org, lists):
    retired(lists["damaged"])
    retired(lists["billing"])

    delivery = dict(causes.cause_choices(current_id=lists["damaged"].id))["Delivery"]
    assert (lists["damaged"].id, "Damaged in transit", False) in delivery
    # In a retired area, it comes back with its area, and alone.
    choices = causes.cause_choices(current_id=lists["tariff"].id)
    assert ("Billing", [(lists["tariff"].id, "Tariff change not applied", False)]) in choices
    # A live current cause is not listed twice.
    assert causes.cause_choices(current_id=lists["missed"].id) == causes.cause_choices()


def test_product_choices_leave_out_the_retired_but_keep_the_current_one(org, lists):
    assert causes.product_choices() == [
        (lists["broadband"].id, "Home broadband"), (lists["kettle"].id, "Kettle"),
    ]
    retired(lists["kettle"])
    assert causes.product_choices() == [(lists["broadband"].id, "Home broadband")]
    assert causes.product_choices(current_id=lists["kettle"].id) == [
        (lists["broadband"].id, "Home broadband"), (lists["kettle"].id, "Kettle"),
    ]


def test_choices_are_one_query_however_long_the_lists(org, lists, count_queries):
    with count_queries() as few:
        causes.cause_choices()
        causes.product_choices()
    for number in range(30):
        area = causes.create_area(actor=org.admin, name=f"Area {number}")
        for cause in range(5):
            causes.create_cause(area, actor=org.admin, name=f"Cause {cause}")
        causes.create_product(actor=org.admin, name=f"Product {number}")
    db.session.commit()
    with count_queries() as many:
        choices = causes.cause_choices()
        causes.product_choices()
    assert len(few) == len(many) == 2
    assert len(choices) == 32


def test_a_resolved_case_keeps_its_retired_cause_and_product(org, lists, case):
    case.root_cause = lists["missed"]
    case.product = lists["kettle"]
    db.session.commit()
    causes.retire_cause(lists["missed"], actor=org.admin)
    causes.retire_product(lists["kettle"], actor=org.admin)
    db.session.commit()
    db.session.expire_all()

    assert case.root_cause.full_name == "Delivery → Carrier missed the slot"
    assert case.product.name == "Kettle"


# --- The rules: redress limits --------------------------------------------------------------


def test_an_admin_sets_a_redress_limit_and_it_is_logged(org, caplog):
    with caplog.at_level(logging.INFO):
        causes.set_redress_limit(org.sam, actor=org.admin, amount_minor=5000)
    assert org.sam.redress_limit_minor == 5000
    assert f"redress limit of user {org.sam.id} changed from 0 to 5000" in caplog.text
    assert f"by admin {org.admin.id}" in caplog.text

    causes.set_redress_limit(org.sam, actor=org.admin, amount_minor=0)
    assert org.sam.redress_limit_minor == 0


@pytest.mark.parametrize("amount", [-1, None, 1_000_000_01])
def test_a_redress_limit_must_be_zero_or_more_and_sensible(org, amount):
    with pytest.raises(RuleViolation) as refused:
        causes.set_redress_limit(org.sam, actor=org.admin, amount_minor=amount)
    assert refused.value.field == "redress_limit"
    assert org.sam.redress_limit_minor == 0


def test_customers_have_no_redress_limit(org, customer):
    with pytest.raises(RuleViolation, match="Only staff"):
        causes.set_redress_limit(customer, actor=org.admin, amount_minor=100)


# --- The pages: who may use them ------------------------------------------------------------


def list_routes(lists, org) -> list[tuple[str, str]]:
    area, cause, product = lists["delivery"].id, lists["missed"].id, lists["kettle"].id
    return [
        ("GET", "/staff/admin/causes"),
        ("POST", "/staff/admin/causes"),
        ("GET", f"/staff/admin/causes/areas/{area}"),
        ("POST", f"/staff/admin/causes/areas/{area}/name"),
        ("POST", f"/staff/admin/causes/areas/{area}/causes"),
        ("POST", f"/staff/admin/causes/areas/{area}/retire"),
        ("POST", f"/staff/admin/causes/areas/{area}/restore"),
        ("GET", f"/staff/admin/causes/{cause}"),
        ("POST", f"/staff/admin/causes/{cause}"),
        ("POST", f"/staff/admin/causes/{cause}/retire"),
        ("POST", f"/staff/admin/causes/{cause}/restore"),
        ("GET", "/staff/admin/products"),
        ("POST", "/staff/admin/products"),
        ("GET", f"/staff/admin/products/{product}"),
        ("POST", f"/staff/admin/products/{product}"),
        ("POST", f"/staff/admin/products/{product}/retire"),
        ("POST", f"/staff/admin/products/{product}/restore"),
        ("POST", f"/staff/admin/staff/{org.sam.id}/redress-limit"),
    ]


def test_the_route_list_covers_every_list_and_limit_url(app, org, lists):
    listed = {(method, url) for method, url in list_routes(lists, org)}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/staff/admin/causes", "/staff/admin/products")) or (
            rule.rule.endswith("/redress-limit")
        ):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert any(m == method and _matches(rule.rule, url) for m, url in listed), (
                    method, rule.rule)


def _matches(rule: str, url: str) -> bool:
    pattern = re.sub(r"<[^>]+>", r"\\d+", rule)
    return re.fullmatch(pattern, url) is not None


@pytest.mark.parametrize("who", ["sam", "manager", "head"])
def test_agents_and_managers_are_refused_and_change_nothing(org, lists, login_as, who):
    client = login_as(getattr(org, who))
    for method, url in list_routes(lists, org):
        response = client.open(url, method=method, data={"name": "Changed",
                                                         "limit-redress_limit": "999"})
        assert response.status_code == 403, (method, url)
    db.session.expire_all()
    assert lists["delivery"].name == "Delivery" and not lists["delivery"].is_retired
    assert lists["missed"].name == "Carrier missed the slot"
    assert lists["kettle"].name == "Kettle" and not lists["kettle"].is_retired
    assert org.sam.redress_limit_minor == 0
    assert db.session.scalar(select(func.count(CauseArea.id))) == 2


def test_customers_are_refused(org, lists, login_as):
    client = login_as(factories.make_customer("casey@example.com", "Casey Cole"))
    for method, url in list_routes(lists, org):
        assert client.open(url, method=method).status_code == 403, (method, url)


def test_signed_out_visitors_are_sent_to_sign_in(org, lists, client):
    for method, url in list_routes(lists, org):
        response = client.open(url, method=method)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/staff/login?next="), (method, url)


def test_there_is_no_way_to_delete(app):
    rules = [rule.rule for rule in app.url_map.iter_rules()
             if rule.rule.startswith(("/staff/admin/causes", "/staff/admin/products"))]
    assert rules and not [rule for rule in rules if "delete" in rule or "remove" in rule]
    assert not [rule for rule in app.url_map.iter_rules()
                if rule.rule.startswith(("/staff/admin/causes", "/staff/admin/products"))
                and "DELETE" in rule.methods]


# --- The pages: root causes -----------------------------------------------------------------


def test_the_overview_links_causes_and_products_with_counts(org, lists, login_as):
    retired(lists["damaged"])
    page = text_of(login_as(org.admin).get("/staff/admin/"))
    assert 'href="/staff/admin/causes"' in page and 'href="/staff/admin/products"' in page
    assert "3 causes in use, in 2 areas." in page
    assert "2 in use." in page


def test_the_causes_page_lists_areas_with_their_causes(org, lists, login_as):
    retired(lists["damaged"])
    retired(lists["billing"])

    response = login_as(org.admin).get("/staff/admin/causes")

    page = text_of(response)
    assert response.status_code == 200
    delivery = page[page.index(">Delivery<"):page.index("</tr>", page.index(">Delivery<"))]
    assert delivery.index("Carrier missed the slot") < delivery.index("Other")
    assert "Other</a> <span class=\"small\">(asks for words)</span>" in delivery
    assert "Damaged in transit</a> <span class=\"small\">(retired)</span>" in delivery
    assert "In use" in delivery
    # Areas in use come first; retired ones after, and say so.
    assert page.index(">Delivery<") < page.index(">Billing<")
    billing = page[page.index(">Billing<"):page.index("</tr>", page.index(">Billing<"))]
    assert "Retired" in billing


def test_the_causes_page_is_a_few_queries_however_many_causes(org, lists, login_as,
                                                             count_queries):
    client = login_as(org.admin)
    client.get("/staff/admin/causes")
    with count_queries() as few:
        client.get("/staff/admin/causes")
    for number in range(20):
        area = causes.create_area(actor=org.admin, name=f"Area {number}")
        for cause in range(5):
            causes.create_cause(area, actor=org.admin, name=f"Cause {cause}")
    db.session.commit()
    with count_queries() as many:
        response = client.get("/staff/admin/causes")
    assert response.status_code == 200
    assert len(many) == len(few)


def test_an_admin_adds_an_area_and_is_taken_to_it(org, login_as):
    client = login_as(org.admin)
    response = client.post("/staff/admin/causes", data={"name": " Installation "})

    area = db.session.scalar(select(CauseArea).where(CauseArea.name == "Installation"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/admin/causes/areas/{area.id}"
    assert "Area “Installation” added. Add its causes below." in text_of(
        client.get(response.headers["Location"]))


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("delivery", "There is already an area called “Delivery”. Choose another name."),
        ("", "Enter a name for the area"),
        ("x" * 121, "Area name can be at most 120 characters."),
    ],
    ids=["duplicate", "empty", "too-long"],
)
def test_a_refused_area_name_is_explained_and_kept(org, lists, login_as, typed, message):
    response = login_as(org.admin).post("/staff/admin/causes", data={"name": typed})

    page = text_of(response)
    assert response.status_code == 422
    assert error_beside(page, "name") == message
    assert input_value(page, "name") == typed
    assert db.session.scalar(select(func.count(CauseArea.id))) == 2


def test_an_admin_renames_an_area(org, lists, login_as):
    client = login_as(org.admin)
    area = lists["delivery"]
    response = client.post(f"/staff/admin/causes/areas/{area.id}/name",
                           data={"name": "Deliveries"})
    assert response.status_code == 302
    assert "Area renamed to “Deliveries”." in text_of(client.get(response.headers["Location"]))

    refused = client.post(f"/staff/admin/causes/areas/{area.id}/name", data={"name": "Billing"})
    page = text_of(refused)
    assert refused.status_code == 422
    assert "already" in error_beside(page, "name")
    assert input_value(page, "name") == "Billing"
    db.session.expire_all()
    assert area.name == "Deliveries"


def test_an_admin_adds_causes_to_an_area(org, lists, login_as):
    client = login_as(org.admin)
    area = lists["billing"]
    page = text_of(client.get(f"/staff/admin/causes/areas/{area.id}"))
    assert "Tariff change not applied" in page
    assert 'id="cause-asks_for_words"' in page

    response = client.post(f"/staff/admin/causes/areas/{area.id}/causes",
                           data={"cause-name": "Something else", "cause-asks_for_words": "y"})

    assert response.status_code == 302
    assert "Cause “Something else” added to Billing." in text_of(
        client.get(response.headers["Location"]))
    added = db.session.scalar(select(RootCause).where(RootCause.name == "Something else"))
    assert added.area_id == area.id and added.asks_for_words is True


def test_a_refused_cause_keeps_what_was_typed(org, lists, login_as):
    response = login_as(org.admin).post(
        f"/staff/admin/causes/areas/{lists['delivery'].id}/causes",
        data={"cause-name": "OTHER", "cause-asks_for_words": "y"},
    )
    page = text_of(response)
    assert response.status_code == 422
    assert error_beside(page, "cause-name") == (
        "There is already a cause called “Other” in Delivery. Choose another name."
    )
    assert input_value(page, "cause-name") == "OTHER"
    assert re.search(r'<input[^>]* checked id="cause-asks_for_words"', page)


def test_an_admin_edits_a_cause(org, lists, login_as):
    client = login_as(org.admin)
    cause = lists["damaged"]
    assert "Damaged in transit" in text_of(client.get(f"/staff/admin/causes/{cause.id}"))

    response = client.post(f"/staff/admin/causes/{cause.id}",
                           data={"name": "Damaged by the carrier", "asks_for_words": "y"})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/admin/causes/areas/{cause.area_id}"
    db.session.expire_all()
    assert cause.name == "Damaged by the carrier" and cause.asks_for_words is True

    refused = client.post(f"/staff/admin/causes/{cause.id}", data={"name": ""})
    assert refused.status_code == 422
    assert error_beside(text_of(refused), "name") == "Enter a name for the cause"


def test_an_admin_retires_and_restores_a_cause(org, lists, login_as):
    client = login_as(org.admin)
    cause = lists["damaged"]

    response = client.post(f"/staff/admin/causes/{cause.id}/retire")
    assert response.status_code == 302
    page = text_of(client.get(response.headers["Location"]))
    assert "“Damaged in transit” is retired" in page
    db.session.expire_all()
    assert cause.is_retired
    assert cause.id not in {c for _, group in causes.cause_choices() for c, _, _ in group}

    response = client.post(f"/staff/admin/causes/{cause.id}/restore")
    assert response.status_code == 302
    db.session.expire_all()
    assert not cause.is_retired


def test_a_refused_retirement_says_why_on_the_page(org, lists, login_as):
    client = login_as(org.admin)
    response = client.post(f"/staff/admin/causes/{lists['missed'].id}/restore")
    assert response.status_code == 422
    assert "is in use already: there is nothing to restore." in text_of(response)

    retired(lists["delivery"])
    response = client.post(f"/staff/admin/causes/areas/{lists['billing'].id}/retire")
    assert response.status_code == 422
    assert "holds the only ones in use" in text_of(response)
    db.session.expire_all()
    assert not lists["billing"].is_retired


def test_an_admin_retires_and_restores_an_area(org, lists, login_as):
    client = login_as(org.admin)
    area = lists["billing"]

    response = client.post(f"/staff/admin/causes/areas/{area.id}/retire")
    assert response.status_code == 302
    page = text_of(client.get(response.headers["Location"]))
    assert "“Billing” is retired" in page
    assert "Restore Billing" in page
    assert "Billing" not in dict(causes.cause_choices())

    response = client.post(f"/staff/admin/causes/areas/{area.id}/restore")
    assert response.status_code == 302
    assert "Billing" in dict(causes.cause_choices())


def test_missing_items_are_not_found(org, lists, login_as):
    client = login_as(org.admin)
    for url in ("/staff/admin/causes/areas/999", "/staff/admin/causes/999",
                "/staff/admin/products/999"):
        assert client.get(url).status_code == 404
    for url in ("/staff/admin/causes/999/retire", "/staff/admin/products/999/restore",
                "/staff/admin/causes/areas/999/retire",
                f"/staff/admin/staff/{factories.make_customer('x@example.com').id}"
                "/redress-limit"):
        db.session.commit()
        assert client.post(url).status_code == 404, url


# --- The pages: products --------------------------------------------------------------------


def test_the_products_page_lists_them_in_use_first(org, lists, login_as):
    retired(lists["broadband"])
    page = text_of(login_as(org.admin).get("/staff/admin/products"))
    assert page.index(">Kettle<") < page.index(">Home broadband<")
    assert page.count("Retired") == 1


def test_an_admin_adds_renames_retires_and_restores_a_product(org, lists, login_as):
    client = login_as(org.admin)
    response = client.post("/staff/admin/products", data={"name": "Toaster"})
    assert response.status_code == 302
    assert "“Toaster” added." in text_of(client.get(response.headers["Location"]))
    toaster = db.session.scalar(select(Product).where(Product.name == "Toaster"))

    response = client.post(f"/staff/admin/products/{toaster.id}", data={"name": "Toasters"})
    assert response.status_code == 302
    response = client.post(f"/staff/admin/products/{toaster.id}/retire")
    assert response.status_code == 302
    assert "“Toasters” is retired" in text_of(client.get(response.headers["Location"]))
    db.session.expire_all()
    assert toaster.is_retired
    response = client.post(f"/staff/admin/products/{toaster.id}/restore")
    assert response.status_code == 302
    db.session.expire_all()
    assert not toaster.is_retired


def test_a_refused_product_name_is_explained_and_kept(org, lists, login_as):
    client = login_as(org.admin)
    response = client.post("/staff/admin/products", data={"name": "KETTLE"})
    page = text_of(response)
    assert response.status_code == 422
    assert error_beside(page, "name") == (
        "There is already a product or service called “Kettle”. Choose another name."
    )
    assert input_value(page, "name") == "KETTLE"

    response = client.post(f"/staff/admin/products/{lists['kettle'].id}",
                           data={"name": "home BROADBAND"})
    assert response.status_code == 422
    assert input_value(text_of(response), "name") == "home BROADBAND"

    response = client.post(f"/staff/admin/products/{lists['kettle'].id}/restore")
    assert response.status_code == 422
    assert "nothing to restore" in text_of(response)


# --- The pages: a staff member's redress limit ----------------------------------------------


def test_the_staff_page_shows_and_sets_the_redress_limit(org, login_as):
    client = login_as(org.admin)
    page = text_of(client.get(f"/staff/admin/staff/{org.sam.id}"))
    assert "Every payment needs a manager’s approval" in page
    assert "Redress limit, £" in page
    assert input_value(page, "limit-redress_limit") == "0.00"

    response = client.post(f"/staff/admin/staff/{org.sam.id}/redress-limit",
                           data={"limit-redress_limit": "£1,250.50"})

    assert response.status_code == 302
    page = text_of(client.get(response.headers["Location"]))
    assert "Sam Taylor may now give up to £1,250.50 on a case without approval." in page
    assert "Up to £1,250.50 on a case without approval" in page
    assert input_value(page, "limit-redress_limit") == "1,250.50"
    db.session.expire_all()
    assert org.sam.redress_limit_minor == 125050

    response = client.post(f"/staff/admin/staff/{org.sam.id}/redress-limit",
                           data={"limit-redress_limit": "0"})
    assert response.status_code == 302
    assert "Every payment Sam Taylor records now needs a manager’s approval." in text_of(
        client.get(response.headers["Location"]))
    db.session.expire_all()
    assert org.sam.redress_limit_minor == 0


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter a limit, like 50.00, or 0 if every payment they record needs approval"),
        ("-5", "Enter a limit more than zero, without a minus sign."),
        ("12.345", "Enter the amount to the penny, with no more than two decimal places."),
        ("lots", "Enter the amount as a number, like 25.50."),
        ("2,000,000", "Enter a limit of no more than 1,000,000.00: check the amount for a slip."),
    ],
)
def test_a_refused_limit_is_explained_and_kept(org, login_as, typed, message):
    org.sam.redress_limit_minor = 2000
    db.session.commit()
    response = login_as(org.admin).post(f"/staff/admin/staff/{org.sam.id}/redress-limit",
                                        data={"limit-redress_limit": typed})

    page = text_of(response)
    assert response.status_code == 422
    assert error_beside(page, "limit-redress_limit") == message
    assert input_value(page, "limit-redress_limit") == typed
    db.session.expire_all()
    assert org.sam.redress_limit_minor == 2000


def test_the_limit_is_in_the_organisation_currency(org, login_as, app):
    app.config["REDRESS_CURRENCY"] = "EUR"
    org.manager.redress_limit_minor = 30000
    db.session.commit()
    page = text_of(login_as(org.admin).get(f"/staff/admin/staff/{org.manager.id}"))
    assert "Redress limit, €" in page
    assert "Up to €300.00 on a case without approval" in page

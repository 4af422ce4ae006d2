"""Every form the app renders is accepted with the CSRF token it carries.

CSRF protection is on here, as in production. For each kind of visitor a small organisation is
built with something on every page that has forms; the walk follows the links of the visitor's
pages, reads every <form method="post"> with html.parser, and sends each one as a browser
would: its fields as rendered, the hidden token among them, with the empty fields a person
must fill filled in. No answer may be the CSRF refusal, nor a form saying that it expired, and
each must be the form's success: a redirect (never to a sign-in page) or the page that answers.

The refusal of a POST without its token is proven for every route in test_portal_security.py;
here is the other half: no form lacks its token or carries one the app will not take. Each
visitor's walk must post to exactly the endpoints listed for it in FORMS_OF, and those lists,
with the few POST routes that no page renders as a form, must be every POST route the app
has: a new form route cannot go unwalked.
"""

import re
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from itertools import count
from types import SimpleNamespace
from urllib.parse import urljoin, urlsplit

import pyotp
import pytest
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from backoffice.two_factor import PENDING_SIGN_IN
from shared import services
from shared.extensions import db
from shared.models import (
    EmailStatus,
    EscalationLevel,
    OutgoingEmail,
    Role,
    StaffTwoFactor,
    utcnow,
)
from shared.services import cases as case_actions
from shared.services import commitments, escalations, remedies, tasks, two_factor, understanding
from shared.tokens import SET_PASSWORD, SIGN_IN, make_link_token
from tests import factories
from tests.support.html import Form, read_page, text_of
from tests.support.signing_in import sign_in

CSRF_REFUSAL = "This form has expired"  # the page shared/app.py renders for a CSRFError
FORM_EXPIRED = "This form expired"  # a form's own token error, in its error summary

# POST routes that no page renders as a <form>: htmx sends them from attributes, with the
# page's token in a header or an included field. Each is proven with its token elsewhere.
NOT_FORMS = {
    # hx-post on the staff case page, token in its hx-headers: test_backoffice_presence.py
    "backoffice.case_presence",
    # hx-post on the complaint form's fields, token by hx-include: test_portal_security.py
    "portal.check_raise_case_field",
}

# The forms of the staff case page, for whoever coordinates the case (owner or manager).
CASE_FORMS = {
    "backoffice.add_redress", "backoffice.remove_redress", "backoffice.case_acknowledge",
    "backoffice.case_status", "backoffice.case_priority",
    "backoffice.case_resolve", "backoffice.case_transfer", "backoffice.case_compose",
    "backoffice.propose_understanding", "backoffice.offer_options", "backoffice.withdraw_option",
    "backoffice.make_commitment", "backoffice.settle_commitment", "backoffice.create_task",
    "backoffice.update_task", "backoffice.request_escalation", "backoffice.withdraw_escalation",
    "backoffice.merge_case",
}
NOTIFICATION_FORMS = {"backoffice.mark_notification_read",
                      "backoffice.mark_all_notifications_read"}
SAVED_REPLY_FORMS = {"backoffice.new_saved_reply", "backoffice.edit_saved_reply",
                     "backoffice.delete_saved_reply"}
ADMIN_FORMS = {
    "backoffice.admin_new_staff_member", "backoffice.admin_change_staff_member",
    "backoffice.admin_mark_away", "backoffice.admin_mark_back",
    "backoffice.admin_deactivate_staff_member", "backoffice.admin_reactivate_staff_member",
    "backoffice.admin_send_invitation", "backoffice.admin_teams", "backoffice.admin_rename_team",
    "backoffice.admin_team_manager", "backoffice.admin_new_category", "backoffice.admin_category",
    "backoffice.admin_new_service_level", "backoffice.admin_service_level",
    "backoffice.admin_new_calendar", "backoffice.admin_calendar", "backoffice.admin_add_holiday",
    "backoffice.admin_remove_holiday", "backoffice.retry_email",
    "backoffice.admin_reset_two_factor",
    "backoffice.admin_staff_redress_limit", "backoffice.admin_causes",
    "backoffice.admin_rename_cause_area", "backoffice.admin_new_cause",
    "backoffice.admin_retire_cause_area", "backoffice.admin_restore_cause_area",
    "backoffice.admin_cause", "backoffice.admin_retire_cause", "backoffice.admin_restore_cause",
    "backoffice.admin_products", "backoffice.admin_product", "backoffice.admin_retire_product",
    "backoffice.admin_restore_product",
}
# Morgan and Ada have an authenticator app set up; Sam sets one up.
TWO_STEP_FORMS = {"backoffice.two_factor_new_recovery_codes", "backoffice.two_factor_turn_off"}
# Problems: opening one, and every form of the problem page and the case page's section.
PROBLEM_FORMS = {
    "backoffice.new_problem", "backoffice.problem_status", "backoffice.problem_owner",
    "backoffice.edit_problem", "backoffice.problem_note", "backoffice.problem_link_case",
    "backoffice.problem_unlink_case", "backoffice.case_link_problem",
}
SIGN_IN_FORMS = {"portal.login", "portal.request_sign_in_link", "portal.register"}
# Signing out everywhere is followed by signing in again (as Priya), then signing out.
STAFF_SIGN_IN_FORMS = {"backoffice.sign_out_everywhere", "backoffice.login", "backoffice.logout"}

# The endpoints each visitor's walk posts to, from the forms on the pages they reach.
FORMS_OF = {
    "guest": SIGN_IN_FORMS | {"portal.raise_case", "portal.set_password", "backoffice.login",
                              "backoffice.staff_set_password", "backoffice.login_code"},
    "customer": SIGN_IN_FORMS | {
        "portal.raise_case", "portal.reply", "portal.confirm_resolution", "portal.reopen",
        "portal.rate", "portal.confirm_understanding", "portal.correct_understanding",
        "portal.choose_option", "portal.logout", "portal.sign_out_everywhere",
    },
    "agent": CASE_FORMS | NOTIFICATION_FORMS | STAFF_SIGN_IN_FORMS | PROBLEM_FORMS | {
        "backoffice.two_factor_setup",
    },
    "manager": CASE_FORMS | NOTIFICATION_FORMS | SAVED_REPLY_FORMS | STAFF_SIGN_IN_FORMS
    | TWO_STEP_FORMS | PROBLEM_FORMS
    | {"backoffice.approve_escalation", "backoffice.reject_escalation"},
    "admin": CASE_FORMS | SAVED_REPLY_FORMS | ADMIN_FORMS | STAFF_SIGN_IN_FORMS | TWO_STEP_FORMS
    | PROBLEM_FORMS,
}

# Forms sent after all others, in this order: each takes away what other forms act on (the
# unread notifications, the saved reply, the case, the visitor's own session) or changes who
# the visitor is.
SENT_LAST = (
    "backoffice.two_factor_turn_off", "backoffice.admin_reset_two_factor",
    "backoffice.mark_all_notifications_read", "backoffice.delete_saved_reply",
    "backoffice.merge_case",
    "backoffice.case_resolve", "backoffice.case_transfer", "backoffice.login_code",
    "portal.set_password",
    "backoffice.staff_set_password", "portal.sign_out_everywhere",
    "backoffice.sign_out_everywhere", "portal.login", "backoffice.login", "portal.logout",
    "backoffice.logout",
)
# The sign-out buttons are on every page (header, staff footer): sending one from one page
# proves it.
IN_EVERY_HEADER = {"portal.logout", "backoffice.logout", "backoffice.sign_out_everywhere"}
# Opening a notification marks it read: its "mark as read" form would have nothing to mark.
NOT_FOLLOWED = {"backoffice.open_notification"}

PASSWORD = "a long and memorable passphrase"


# --- Filling a form in as a person does --------------------------------------------------------


class Typist:
    """What a person sends with a form: what the page rendered in it, with each empty field
    that must be filled filled in with a plausible value for its type, a choice made where
    none is, and the form's own submit button. Where a made-up value would not do, `typed`
    says what the person enters, keyed by field name or by (endpoint, field name)."""

    def __init__(self, typed: dict):
        self.typed = typed
        self.numbers = count(1)

    def fields_of(self, form: Form, endpoint: str) -> list[tuple[str, object]]:
        """The (name, value) pairs a browser sends, in page order, files included."""
        typed = {key: value for key, value in self.typed.items() if isinstance(key, str)}
        typed |= {key[1]: value for key, value in self.typed.items()
                  if isinstance(key, tuple) and key[0] == endpoint}
        sent = []
        for control in form.controls:
            name, kind = control.get("name"), control.get("type", "text")
            if not name or "disabled" in control or control["tag"] == "button" or kind in (
                "submit", "button", "reset", "image"
            ):
                continue
            if kind == "radio":
                sent += self._choice(form, control, typed)
            elif kind == "checkbox":
                if "checked" in control or typed.get(name) == control.get("value"):
                    sent.append((name, control.get("value", "on")))
            elif kind == "file":
                sent.append((name, (BytesIO(b""), "")))  # no file chosen: an empty part
            elif name in typed:
                # A callable is what the person reads at that moment (an authenticator's code).
                sent.append((name, typed[name]() if callable(typed[name]) else typed[name]))
            elif control["tag"] == "select":
                value = self._selected(control)
                if not value and "required" in control:
                    value = next(o["value"] for o in control["options"] if o.get("value"))
                sent.append((name, value))
            else:
                value = self._rendered_text(control)
                if not value and "required" in control:
                    value = self._plausible(control)
                sent.append((name, value))
        button = next((c for c in form.controls if self._is_submit(c)), None)
        if button is not None and button.get("name"):
            sent.append((button["name"], button.get("value", "")))
        return sent

    @staticmethod
    def _choice(form: Form, radio: dict, typed: dict) -> list[tuple[str, str]]:
        """A radio group, sent once, at its first radio: the answer in `typed`, else the
        checked one, else the first (a person answers the question the form asks)."""
        group = [c for c in form.controls if c.get("type") == "radio"
                 and c.get("name") == radio["name"]]
        if radio is not group[0]:
            return []
        checked = next((r for r in group if "checked" in r), radio)
        return [(radio["name"], typed.get(radio["name"], checked.get("value", "on")))]

    @staticmethod
    def _selected(select: dict) -> str:
        options = select["options"]
        chosen = next((o for o in options if "selected" in o), options[0] if options else {})
        return chosen.get("value", "")

    @staticmethod
    def _rendered_text(control: dict) -> str:
        if control["tag"] != "textarea":
            return control.get("value", "")
        text = control["text"]  # HTML drops the newline that follows <textarea>
        return text[2:] if text.startswith("\r\n") else text.removeprefix("\n")

    @staticmethod
    def _is_submit(control: dict) -> bool:
        # A button that submits elsewhere (formaction) or by GET is not the form's own.
        default = "submit" if control["tag"] == "button" else "text"
        return (control.get("type", default) == "submit" and "formaction" not in control
                and "formmethod" not in control)

    def _plausible(self, control: dict) -> str:
        number = next(self.numbers)
        return {
            "email": f"visitor{number}@example.com",
            "password": PASSWORD,
            "datetime-local": (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT12:00"),
            "date": (utcnow() + timedelta(days=90 + number)).strftime("%Y-%m-%d"),
            "time": "09:00",
            "number": "2",
        }.get(control.get("type", "text"), f"Written for the walk, number {number}.")


# --- Walking a visitor's pages -----------------------------------------------------------------


@dataclass
class Sent:
    """One form sent: from which page, to which route, and what came back."""

    page: str
    endpoint: str
    rule: str
    status: int
    location: str
    answer: str

    def __str__(self):
        return f"POST {self.rule} from {self.page}: {self.status} {self.location}".rstrip()


class Walk:
    """A visitor's walk: follow the links of their pages (those whose endpoint starts with
    one of `scope`), note the pages that render each form, then send each form from the
    first of its pages that still renders it. A form is known by the endpoint it posts to
    and the page it is on."""

    def __init__(self, app, client, scope: tuple[str, ...], typed: dict):
        self.client = client
        self.scope = scope
        self.urls = app.url_map.bind("localhost")
        self.typist = Typist(typed)
        self.pages_with: dict[tuple, list[str]] = {}

    def follow_links(self, *start: str, most: int = 200) -> None:
        queue, seen = deque(start), set()
        while queue:
            url = queue.popleft()
            path = urlsplit(url).path
            endpoint = self._endpoint(path, "GET")
            if path in seen or endpoint in NOT_FOLLOWED or not endpoint.startswith(self.scope):
                continue
            seen.add(path)
            assert len(seen) <= most, "the walk is running away: more pages than expected"
            response = self.client.get(url)
            if response.status_code in (302, 303):
                queue.append(response.headers["Location"])
                continue
            if response.mimetype != "text/html":
                continue
            page = read_page(response.get_data(as_text=True))
            for form in page.forms:
                if form.method == "post":
                    pages = self.pages_with.setdefault(self._key(endpoint, url, form), [])
                    if url not in pages:
                        pages.append(url)
            queue.extend(urljoin(url, link) for link in page.links if self._local(link))

    def send_every_form(self) -> list[Sent]:
        def last(key):
            return SENT_LAST.index(key[0]) + 1 if key[0] in SENT_LAST else 0

        return [self._send(key) for key in sorted(self.pages_with, key=last)]

    def _send(self, key) -> Sent:
        for url in self.pages_with[key]:
            endpoint = self._endpoint(urlsplit(url).path, "GET")
            for form in read_page(self.client.get(url).get_data(as_text=True)).forms:
                if form.method == "post" and self._key(endpoint, url, form) == key:
                    return self._submit(url, form)
        raise AssertionError(f"no page renders the form {key} any more: {self.pages_with[key]}")

    def _submit(self, page: str, form: Form) -> Sent:
        action = self._action(page, form)
        rule = self.urls.match(urlsplit(action).path, method="POST", return_rule=True)[0]
        data = {}
        for name, value in self.typist.fields_of(form, rule.endpoint):
            data.setdefault(name, []).append(value)
        multipart = form.enctype == "multipart/form-data"
        response = self.client.post(
            action, data=data, content_type="multipart/form-data" if multipart else None
        )
        return Sent(page, rule.endpoint, rule.rule, response.status_code,
                    response.headers.get("Location", ""), text_of(response))

    def _key(self, page_endpoint: str, page: str, form: Form) -> tuple[str, str | None]:
        action = self._action(page, form)
        action_endpoint = self._endpoint(urlsplit(action).path, "POST")
        assert action_endpoint, f"a form on {page} posts to {action}, which takes no POST"
        if action_endpoint in IN_EVERY_HEADER:
            return action_endpoint, None
        return action_endpoint, page_endpoint

    def _endpoint(self, path: str, method: str) -> str:
        try:
            return self.urls.match(path, method=method)[0]
        except HTTPException:
            return ""

    @staticmethod
    def _action(page: str, form: Form) -> str:
        return urljoin(page, form.action) if form.action else page

    @staticmethod
    def _local(link: str) -> bool:
        parts = urlsplit(link)
        return not (parts.scheme or parts.netloc or link.startswith("#"))


# --- The organisation and its visitors ---------------------------------------------------------


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture(autouse=True)
def a_wednesday_in_november(frozen_now):
    """A day with the calendar's holidays still ahead (removable) and behind; the clock runs
    on from there."""
    frozen_now(datetime(2026, 11, 18, 10, 0, tzinfo=UTC), tick=True)


def a_case_with_everything(org, customer):
    """An open case of Alex's, owned by Sam, with something for every form of the case page."""
    case = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    understanding.propose_understanding(case, actor=org.sam, text="You want a new kettle.")
    remedies.offer_options(case, actor=org.sam, descriptions=["A refund", "A new kettle"])
    commitments.make_commitment(case, actor=org.sam, description="call you back",
                                due_at=factories.in_hours(30))
    # Given to Sam by Priya: Sam is notified, and it is on Sam's list of tasks.
    tasks.create_task(case, actor=org.priya, title="Check the camera", assignee=org.sam,
                      due_at=factories.in_hours(30))
    # Waiting for Morgan's decision: Morgan is notified.
    escalations.request_escalation(case, actor=org.sam, level=EscalationLevel.TEAM_MANAGER,
                                   reason="The courier will not answer.", needs=["people"])
    # A remedy recorded, for its "remove" button.
    from shared.services import redress

    redress.record_redress(case, actor=org.sam, kind="apology", description="We are sorry.")
    return case


@pytest.fixture
def world(org, customer):
    """Something on every page that has forms. Three cases with everything, as some forms
    end what others act on: one escalation each to approve, reject and withdraw, an
    understanding each to confirm and correct; two resolved cases, to close one and reopen
    it, and to rate the other; one plain open case to merge into."""
    first, *_ = (a_case_with_everything(org, customer) for _ in range(3))
    for _ in range(2):
        resolved = factories.case_owned_by(org.sam, org.delivery, customer=customer)
        case_actions.resolve_case(resolved, actor=org.sam, resolution="We refunded you.",
                                  **factories.cause_and_outcome())
    merge_target = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    # Deciding an escalation settles its notifications: Morgan needs two about something else,
    # one for "mark as read" and one left for "mark all as read".
    for title in ("Ring the depot", "Check the van's log"):
        tasks.create_task(first, actor=org.priya, title=title, assignee=org.manager,
                          due_at=factories.in_hours(30))
    factories.make_saved_reply(updated_by=org.sam)
    problem_to_link_to, problem_with_cases = problems_with_something_to_do(org, customer, first)
    managed_lists_with_something_to_retire_and_restore()
    # People who have not chosen a password yet; someone who left; someone away.
    newcomer = factories.make_user("nia@example.com", "Nia New", password=None)
    invited = factories.make_user("ivy@example.com", "Ivy Ince", Role.AGENT, org.care,
                                  password=None)
    factories.make_user("rowan@example.com", "Rowan Gone", Role.AGENT, org.care, active=False)
    factories.make_user("avery@example.com", "Avery Away", Role.AGENT, org.billing, away=True)
    # Morgan and Ada sign in with an authenticator app; Sam has not set one up yet.
    for member in (org.manager, org.admin):
        two_factor.start_enrolment(member).confirmed_at = utcnow()
        two_factor.regenerate_recovery_codes(member)
    services.commit()
    # Mail that could not be sent, for the outbox's retry button.
    db.session.scalars(select(OutgoingEmail)).first().status = EmailStatus.FAILED
    db.session.commit()
    return SimpleNamespace(org=org, customer=customer, merge_target=merge_target,
                           newcomer=newcomer, invited=invited,
                           problem_to_link_to=problem_to_link_to,
                           problem_with_cases=problem_with_cases)


def problems_with_something_to_do(org, customer, first):
    """Two problems of Sam's team. The newer, listed first, has two cases to unlink (one from
    a case page, one from its own page) and takes the merge target linked on its page; the
    older is the one typed on a case page, so that no link is made twice."""
    to_link_to = factories.a_problem(org.sam, title="Scanner fault")
    second = factories.case_owned_by(org.sam, org.delivery, customer=customer)
    with_cases = factories.a_problem(org.sam, title="Vans too full", cases=[first, second])
    return to_link_to, with_cases


def managed_lists_with_something_to_retire_and_restore():
    """Causes and products to retire and restore. The walk retires one area and two causes;
    "Billing" comes before "Delivery" (the causes the case forms resolve with), and keeps
    some in use whichever it loses. Each live area has a retired cause to restore."""
    for name in ("Tariff change not applied", "Charged twice", "Meter read wrongly"):
        factories.a_root_cause(name, "Billing")
    for name, area in (("Direct debit taken twice", "Billing"),
                       ("Left with a neighbour", "Delivery"), ("Refund late", "Returns")):
        factories.a_root_cause(name, area).retired_at = utcnow()
    factories.a_root_cause("Refund late", "Returns").area.retired_at = utcnow()
    factories.a_product("Kettle")
    factories.a_product("Toaster").retired_at = utcnow()


def walk_of(visitor: str, app, world) -> Walk:
    """The visitor's walk, signed in as they would be, through the pages it starts from."""
    org, client = world.org, app.test_client()
    typed = {
        # Signing in as the person the form is for: a made-up address would be refused.
        ("portal.login", "email"): world.customer.email,
        ("portal.login", "password"): factories.PASSWORD,
        ("backoffice.login", "email"): org.priya.email,  # a password alone signs her in
        ("backoffice.login", "password"): factories.PASSWORD,
        ("backoffice.admin_new_staff_member", "team"): str(org.care.id),
        # Where the form leaves a choice open and an answer is needed, or another than now.
        "merge-target_reference": world.merge_target.reference,
        "options-option_1": "A refund of the postage",
        "escalation-needs": "people",
        "task-team": str(org.billing.id),
        "task-update-status": "done",
        "task-update-outcome": "Done: the camera shows the parcel being dropped.",
        "priority": "high",
        "new_owner": str(org.priya.id),
        ("backoffice.new_problem", "team"): str(org.care.id),
        ("backoffice.new_problem", "owner"): str(org.sam.id),
        "redress-kind": "apology",
        ("backoffice.case_resolve", "root_cause"): live_cause_id,
        "owner-team": str(org.care.id),
        "owner-owner": str(org.priya.id),
        "edit-description": "Seen at the Leeds depot too.",
        "note-body": "The depot is checking the vans.",
        "link-case_reference": world.merge_target.reference,
        "problem-link-problem": world.problem_to_link_to.reference,
        ("backoffice.login_code", "code"): lambda: code_of(org.manager),
        ("backoffice.two_factor_setup", "code"): lambda: code_of(org.sam),
    }
    if visitor == "guest":
        # Morgan's password was right a moment ago: the page asking for the code is open.
        with client.session_transaction("/staff/") as session:
            session[PENDING_SIGN_IN] = {"user_id": org.manager.id,
                                        "started": utcnow().timestamp()}
        walk = Walk(app, client, ("portal.", "backoffice."), typed)
        walk.follow_links(
            "/", "/staff/login", "/staff/login/code", "/sign-in/not-a-real-link",
            f"/account/password/{make_link_token(SET_PASSWORD, world.newcomer)}",
            f"/staff/account/password/{make_link_token(SET_PASSWORD, world.invited)}",
        )
    elif visitor == "customer":
        # As customers do: the link in their email signs them in.
        client.get(f"/sign-in/{make_link_token(SIGN_IN, world.customer)}")
        walk = Walk(app, client, ("portal.",), typed)
        walk.follow_links("/", "/cases")
    else:
        member = {"agent": org.sam, "manager": org.manager, "admin": org.admin}[visitor]
        sign_in(client, member)
        walk = Walk(app, client, ("backoffice.",), typed)
        walk.follow_links("/staff/", "/staff/login")
    return walk


def live_cause_id() -> str:
    """A cause still in use when the resolve form is sent: the admin walk retires some."""
    from shared.models import CauseArea, RootCause

    return str(db.session.scalar(
        select(RootCause.id).join(CauseArea)
        .where(RootCause.retired_at.is_(None), CauseArea.retired_at.is_(None),
               RootCause.asks_for_words.is_(False))
        .order_by(RootCause.id).limit(1)
    ))


def code_of(member) -> str:
    """The code the member's authenticator app shows now."""
    return pyotp.TOTP(db.session.get(StaffTwoFactor, member.id).secret).now()


def succeeded(form: Sent) -> bool:
    """Done, as the form's own success shows it: a redirect that does not ask the visitor to
    sign in first, or the page that answers the form ("we have emailed you a link")."""
    return form.status == 200 or (form.status in (302, 303) and "next=" not in form.location)


# --- The tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("visitor", FORMS_OF)
def test_every_form_a_visitor_meets_is_accepted_with_the_token_it_carries(visitor, app, world):
    walk = walk_of(visitor, app, world)

    sent = walk.send_every_form()

    for form in sent:
        assert CSRF_REFUSAL not in form.answer, f"refused for its token: {form}"
        assert FORM_EXPIRED not in form.answer, f"its token was not taken: {form}"
        problem = re.search(r'class="error-summary".*?</ul>', form.answer, re.S)
        assert succeeded(form), f"{form}\n{problem.group(0) if problem else form.answer[:500]}"
    assert {form.endpoint for form in sent} == FORMS_OF[visitor]


def test_the_walks_post_to_every_post_route_but_the_few_that_are_no_form(app):
    post_routes = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    walked = set().union(*FORMS_OF.values())

    assert walked | NOT_FORMS == post_routes
    assert not walked & NOT_FORMS

"""The staff case page: who may open it, what it shows from top to bottom, the clocks in
business time, the timeline (internal events unmistakable), file downloads, htmx refreshes,
and a bounded number of SQL statements whatever the length of the timeline."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import select

from shared import presentation, services
from shared.extensions import db
from shared.models import Attachment, EventKind, TimelineEvent, Visibility
from shared.services import cases as case_actions
from shared.services import messages
from shared.services.attachments import store_attachments
from shared.services.timeline import record_event
from tests import factories
from tests.support.direction import directions_of
from tests.support.html import between, hidden_value, text_of
from tests.support.pages import page_url

MONDAY_10AM_LONDON = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # GMT in November
NOTE_TEXT = "Customer sounded upset; check the courier's photos first."
HTMX_TIMELINE = {"HX-Request": "true", "HX-Target": "staff-timeline"}


def raise_alexs_case(org):
    raised = factories.raise_case(
        org.delivery,
        name="Alex Carter",
        email="alex@example.com",
        description="My parcel arrived crushed.\nThe vase inside was broken.",
        desired_outcome="A replacement vase.",
        on_behalf_of="Jamie Carter",
        representative_relationship="relative",
        attachments=[factories.upload("crushed-box.png")],
    )
    services.commit()
    return raised


@pytest.fixture
def case_with_file(org):
    """Alex's delivery complaint, raised through the portal with a file and a representative."""
    return raise_alexs_case(org)


def time_frames(html: str) -> dict[str, tuple[str, str, str]]:
    """Each time frame on the page: label -> (due time, state, countdown), as a person reads
    them."""
    clocks = between(html, 'id="clocks-title"', "</header>")
    return {
        label: (due, state, countdown.strip())
        for label, due, state, countdown in re.findall(
            r'<p class="timeframe__label">([^<]+)</p>\s*<p class="timeframe__due">([^<]+)</p>'
            r'\s*<p class="timeframe__state"><strong class="tag [^"]+">([^<]+)</strong>([^<]*)</p>',
            clocks,
        )
    }


# --- Who may open it -------------------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_the_staff_sign_in(client, case_with_file):
    response = client.get(page_url(case_with_file))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")


def test_customers_cannot_open_the_staff_case_page_even_for_their_own_case(
    client, login_as, case_with_file
):
    login_as(case_with_file.customer)
    assert client.get(page_url(case_with_file)).status_code == 403
    attachment = db.session.scalars(select(Attachment)).first()
    assert client.get(page_url(case_with_file, f"files/{attachment.id}")).status_code == 403


@pytest.mark.parametrize("who", ["sam", "priya", "jo", "manager", "admin"])
def test_any_member_of_staff_can_read_any_case(client, login_as, org, case_with_file, who):
    login_as(getattr(org, who))
    response = client.get(page_url(case_with_file))
    assert response.status_code == 200
    assert case_with_file.reference in response.get_data(as_text=True)


def test_an_unknown_reference_is_not_found(client, login_as, org):
    login_as(org.sam)
    assert client.get("/staff/cases/AM-999999").status_code == 404


# --- What it shows ---------------------------------------------------------------------------


def test_the_header_says_who_complained_for_whom_and_who_looks_after_it(
    client, login_as, org, case_with_file
):
    login_as(org.priya)
    html = text_of(client.get(page_url(case_with_file)))
    header = between(html, 'class="case-header"', "</header>")

    assert case_with_file.reference in header
    assert "Alex Carter" in header and "alex@example.com" in header
    assert "Jamie Carter" in header and "Alex Carter is a relative" in header
    assert f"{case_with_file.owner.name}" in header and "Customer care" in header
    assert "new" in header and "Received" in header  # our status, and the customer's words
    assert "Normal" in header
    assert "Hand-offs" in header and "0" in header


def test_the_page_reads_who_then_what_they_asked_then_the_timeline_then_the_composer(
    client, login_as, org, case_with_file
):
    login_as(case_with_file.owner)
    html = text_of(client.get(page_url(case_with_file)))

    positions = [
        html.index('class="case-header"'),
        html.index("Time frames"),
        html.index('What <span dir="auto">Alex Carter</span> asked for'),
        html.index('id="staff-timeline"'),
        html.index('id="composer"'),
    ]
    assert positions == sorted(positions)
    asked = html[positions[2]: positions[3]]
    assert "The vase inside was broken." in asked
    assert "A replacement vase." in asked
    assert "crushed-box.png" in asked


def test_each_time_frame_shows_its_due_time_countdown_and_state_in_words(
    client, login_as, org, frozen_now
):
    frozen_now(MONDAY_10AM_LONDON)
    case = raise_alexs_case(org)  # normal priority, UK office hours 09:00 to 17:00
    login_as(case.owner)

    assert time_frames(text_of(client.get(page_url(case)))) == {
        "Acknowledge": ("Monday 23 November, 14:00 UK time", "At risk", "4 working hours left"),
        "First response": ("Wednesday 25 November, 10:00 UK time", "On track",
                           "2 working days left"),
        "Resolve": ("Monday 7 December, 10:00 UK time", "On track", "10 working days left"),
        "Next update": ("Monday 23 November, 14:00 UK time", "At risk", "4 working hours left"),
    }

    frozen_now(MONDAY_10AM_LONDON + timedelta(hours=3, minutes=30))
    later = time_frames(text_of(client.get(page_url(case))))
    assert later["Acknowledge"] == ("Monday 23 November, 14:00 UK time", "At risk",
                                    "30 working minutes left")
    assert later["Resolve"] == ("Monday 7 December, 10:00 UK time", "On track",
                                "9 working days 4 hours left")

    frozen_now(datetime(2026, 11, 23, 14, 1, tzinfo=UTC))
    assert time_frames(text_of(client.get(page_url(case))))["Acknowledge"][1] == "Breached"


def test_a_breached_time_frame_says_so_in_words_and_colour(client, login_as, org, case_with_file):
    case_with_file.acknowledge_due_at = datetime(2025, 11, 3, 10, tzinfo=UTC)
    services.commit()
    login_as(case_with_file.owner)
    html = text_of(client.get(page_url(case_with_file)))
    clocks = between(html, 'id="clocks-title"', "</header>")

    acknowledge = clocks[clocks.index("Acknowledge"): clocks.index("First response")]
    assert '<strong class="tag tag--late">Breached</strong>' in acknowledge
    assert "overdue by" in acknowledge
    assert "Monday 3 November, 10:00 UK time" in acknowledge


class TestClockStates:
    """Countdowns in the case's calendar (09:00–17:00 UK, Monday to Friday). Only a case's
    dates matter here, so the plain `case` will do."""

    MONDAY_10AM = datetime(2026, 11, 23, 10, tzinfo=UTC)  # UK time is UTC in November

    @pytest.fixture
    def clocks(self, case):
        case.acknowledge_due_at = datetime(2026, 11, 23, 13, tzinfo=UTC)  # in 3 working hours
        case.first_response_due_at = datetime(2026, 11, 23, 9, tzinfo=UTC)  # an hour ago
        case.resolve_due_at = datetime(2026, 12, 4, 17, tzinfo=UTC)  # in 79 working hours
        case.next_update_due_at = datetime(2026, 11, 25, 12, tzinfo=UTC)  # Wednesday noon
        return {c.label: c for c in presentation.staff_clocks(case, now=self.MONDAY_10AM)}

    def test_due_before_the_end_of_the_next_working_day_is_at_risk(self, clocks):
        assert clocks["Acknowledge"].state == "at_risk"
        assert clocks["Acknowledge"].state_words == "At risk"
        assert clocks["Acknowledge"].countdown == "3 working hours left"
        assert clocks["Acknowledge"].tag_class == "tag--at-risk"

    def test_past_due_is_breached_and_counts_the_working_time_over(self, clocks):
        assert clocks["First response"].state == "breached"
        assert clocks["First response"].countdown == "overdue by 1 working hour"
        assert clocks["First response"].tag_class == "tag--late"

    def test_later_than_tomorrow_evening_is_on_track_in_working_days(self, clocks):
        assert clocks["Resolve"].state == "on_track"
        assert clocks["Resolve"].countdown == "9 working days 7 hours left"
        assert clocks["Next update"].state == "on_track"
        assert clocks["Resolve"].due_words == "Friday 4 December, 17:00 UK time"

    def test_a_time_frame_kept_is_met(self, case):
        case.acknowledge_due_at = datetime(2026, 11, 23, 13, tzinfo=UTC)
        case.acknowledged_at = datetime(2026, 11, 23, 11, tzinfo=UTC)
        clocks = {c.label: c for c in presentation.staff_clocks(case, now=self.MONDAY_10AM)}
        assert clocks["Acknowledge"].state == "met"
        assert clocks["Acknowledge"].countdown == "on time"
        assert clocks["Acknowledge"].tag_class == "tag--done"

    def test_a_time_frame_kept_late_says_by_how_much(self, case):
        case.acknowledge_due_at = datetime(2026, 11, 23, 13, tzinfo=UTC)
        case.acknowledged_at = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
        clocks = {c.label: c for c in presentation.staff_clocks(case, now=self.MONDAY_10AM)}
        assert clocks["Acknowledge"].countdown == "2 working hours 30 minutes late"

    def test_the_weekend_does_not_count(self, case):
        friday_4pm = datetime(2026, 11, 27, 16, tzinfo=UTC)
        case.acknowledge_due_at = datetime(2026, 11, 30, 11, tzinfo=UTC)  # Monday 11:00
        clocks = {c.label: c for c in presentation.staff_clocks(case, now=friday_4pm)}
        assert clocks["Acknowledge"].countdown == "3 working hours left"
        assert clocks["Acknowledge"].state == "at_risk"


def test_internal_events_are_unmistakable_and_say_the_customer_cannot_see_them(
    client, login_as, org, case_with_file
):
    messages.add_internal_note(case_with_file, actor=org.priya, body=NOTE_TEXT)
    services.commit()
    login_as(org.sam)
    html = text_of(client.get(page_url(case_with_file)))

    internal_events = re.findall(
        r'<li class="timeline__event timeline__event--internal" id="event-\d+">(.*?)</li>',
        html[html.index('id="staff-timeline"'):],
        re.S,
    )
    note = next(event for event in internal_events if NOTE_TEXT in event)
    assert "Internal note — not visible to the customer" in note
    assert "Priya Shah" in note
    # Other internal records (here: the receipt email) say so too.
    assert any("Internal record — not visible to the customer" in e for e in internal_events)
    created = re.search(r'timeline__event--customer" id="event-\d+">(.*?)</li>', html, re.S)
    assert "Visible to the customer" not in created.group(1)
    assert "From the customer" in created.group(1)


def test_slots_for_the_coordination_sections_sit_between_the_request_and_the_timeline():
    template = Path(__file__).resolve().parent.parent / "templates/backoffice/case.html"
    source = template.read_text(encoding="utf-8")
    slots = [
        source.index(f'{{% include "backoffice/_partials/{name}.html" ignore missing %}}')
        for name in ("_understanding", "_options", "_commitments", "_tasks", "_case_tools")
    ]
    assert source.index("asked-title") < slots[0]
    assert slots == sorted(slots)
    assert slots[-1] < source.index("_case_timeline.html")


# --- Files -----------------------------------------------------------------------------------


def test_staff_download_files_as_attachments_in_a_sandbox(client, login_as, org, case_with_file):
    note = messages.add_internal_note(
        case_with_file, actor=org.priya, body="Courier's photo",
        attachments=[factories.upload("van.png")],
    )
    services.commit()
    login_as(org.jo)
    for attachment in db.session.scalars(select(Attachment).order_by(Attachment.id)):
        response = client.get(page_url(case_with_file, f"files/{attachment.id}"))
        assert response.status_code == 200
        assert response.data == factories.PNG_BYTES
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
        response.close()
    assert note.attachments[0].original_name == "van.png"


def test_a_file_is_only_found_through_its_own_case(client, login_as, org, case_with_file):
    other = factories.raise_case(org.delivery, email="someone@example.com")
    services.commit()
    login_as(org.sam)
    attachment = db.session.scalars(select(Attachment)).first()
    assert client.get(page_url(other, f"files/{attachment.id}")).status_code == 404
    assert client.get(page_url(case_with_file, "files/99999")).status_code == 404


def test_the_timeline_links_each_file_to_the_staff_download(client, login_as, org, case_with_file):
    login_as(org.sam)
    html = text_of(client.get(page_url(case_with_file)))
    attachment = db.session.scalars(select(Attachment)).first()
    timeline = html[html.index('id="staff-timeline"'):]
    download = f'href="/staff/cases/{case_with_file.reference}/files/{attachment.id}" download'
    assert download in timeline


# --- htmx ------------------------------------------------------------------------------------


def test_the_timeline_refreshes_itself_as_a_partial(client, login_as, org, case_with_file):
    login_as(org.sam)
    page = text_of(client.get(page_url(case_with_file)))
    assert 'hx-trigger="every 30s"' in page

    messages.add_internal_note(case_with_file, actor=org.priya, body=NOTE_TEXT)
    services.commit()
    response = client.get(page_url(case_with_file) + "?newest=1", headers=HTMX_TIMELINE)

    assert response.status_code == 200
    partial = text_of(response)
    assert partial.lstrip().startswith("<section id=\"staff-timeline\"")
    assert "<html" not in partial and 'id="composer"' not in partial
    assert NOTE_TEXT in partial
    assert "HX-Request" in response.headers["Vary"]


def test_an_unchanged_timeline_is_left_alone(client, login_as, org, case_with_file):
    login_as(org.sam)
    newest = db.session.scalars(
        select(TimelineEvent.id).where(TimelineEvent.case_id == case_with_file.id)
        .order_by(TimelineEvent.id.desc())
    ).first()
    response = client.get(page_url(case_with_file) + f"?newest={newest}", headers=HTMX_TIMELINE)
    assert response.status_code == 204


# --- Coordinators see the actions; others see why not ------------------------------------------


def test_the_owner_sees_every_action_and_the_update_composer(client, login_as, org, case_with_file):
    login_as(case_with_file.owner)
    html = text_of(client.get(page_url(case_with_file)))
    for words in (
        "Send update to customer",
        "Add internal note",
        "Acknowledge (the customer sees this)",
        "Change status",
        "Change priority and tell the customer the new dates",
        "Resolve and tell the customer",
        "Hand over and tell the customer",
    ):
        assert words in html, words


def test_a_colleague_who_does_not_own_the_case_can_only_add_notes(
    client, login_as, org, case_with_file
):
    assert case_with_file.owner != org.priya
    login_as(org.priya)
    html = text_of(client.get(page_url(case_with_file)))

    assert "Add internal note" in html
    assert "Send update to customer" not in html
    assert "Resolve and tell the customer" not in html
    assert f"Only {case_with_file.owner.name}, who looks after this case, or a manager" in html


def test_a_manager_covering_for_the_owner_sees_the_actions(client, login_as, org, case_with_file):
    login_as(org.manager)
    html = text_of(client.get(page_url(case_with_file)))
    assert "Send update to customer" in html
    assert "Hand over and tell the customer" in html


def test_every_form_that_changes_the_case_carries_its_version_and_newest_event(
    client, login_as, org, case_with_file
):
    login_as(case_with_file.owner)
    html = unescape(client.get(page_url(case_with_file)).get_data(as_text=True))
    newest = db.session.scalars(
        select(TimelineEvent.id).where(TimelineEvent.case_id == case_with_file.id)
        .order_by(TimelineEvent.id.desc())
    ).first()
    for action in ("messages", "acknowledge", "status", "priority", "resolve", "owner"):
        form = page_url(case_with_file, action)
        assert hidden_value(html, "version", form) == str(case_with_file.version)
        assert hidden_value(html, "seen_event_id", form) == str(newest)


# --- A bounded number of SQL statements --------------------------------------------------------


def _case_with_events(org, number_of_events, email):
    case = factories.raise_case(org.delivery, email=email)
    for number in range(number_of_events):
        customer_event = record_event(
            case, EventKind.CUSTOMER_REPLY, actor=case.customer, body=f"message {number}"
        )
        store_attachments(case, [factories.upload()], uploader=case.customer,
                          event=customer_event)
        record_event(case, EventKind.NOTE, actor=org.priya, visibility=Visibility.INTERNAL,
                     body=f"note {number}")
    services.commit()
    return case


def test_the_page_issues_the_same_few_statements_for_a_short_and_a_long_timeline(
    app, client, login_as, org, count_queries
):
    short = factories.raise_case(org.delivery, email="short@example.com")  # 3 events
    long = _case_with_events(org, 20, "long@example.com")  # 43 events, 20 of them with a file
    for case in (short, long):
        case.owner = org.sam  # the owner sees every form, so every query runs
    services.commit()
    references = [short.reference, long.reference]
    assert len(long.events) >= 40
    login_as(org.sam).get("/staff/")  # the staff settings kept in memory are read by then

    counts = []
    for reference in references:
        # A context of its own, as in production: nothing loaded or cached by an earlier
        # request (the test's own context outlives requests) is reused.
        with app.app_context(), count_queries() as statements:
            response = client.get(f"/staff/cases/{reference}")
        assert response.status_code == 200
        counts.append(len(statements))

    assert counts[0] == counts[1]
    assert counts[1] <= 15


# --- The customer's own words: their direction, whatever the language ----------------------

ARABIC = "وصل الطرد مكسورا"  # "The parcel arrived broken", written right to left


def test_the_customers_words_take_their_own_direction_for_staff(client, login_as, org):
    rtl_case = factories.raise_case(
        org.delivery,
        name=ARABIC,
        description=f"{ARABIC}.",
        desired_outcome=ARABIC,
        external_reference=ARABIC,
    )
    services.commit()
    login_as(org.sam)

    for path in (page_url(rtl_case), "/staff/?name=all"):
        places = directions_of(text_of(client.get(path)), ARABIC)
        assert places, f"{path} does not show the customer's words"
        undirected = [tag for tag, direction in places if direction != "auto"]
        assert undirected == [], f"{path}: the customer's words in {undirected} have no dir=auto"


def test_each_clock_reads_as_one_phrase_without_saying_a_word_twice(client, login_as, org, case):
    case_actions.acknowledge_case(case, actor=org.sam)
    services.commit()
    login_as(org.sam)
    html = text_of(client.get(page_url(case)))

    states = [
        " ".join(re.sub(r"<[^>]+>", " ", state).split()).lower()
        for state in re.findall(r'<p class="timeframe__state">(.*?)</p>', html, re.S)
    ]
    assert "met on time" in states
    for state in states:
        words = state.split()
        assert len(words) == len(set(words)), f"“{state}” repeats itself"

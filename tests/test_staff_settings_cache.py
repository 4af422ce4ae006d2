"""The calendars and filter options the queue pages keep in memory: read once, reread as soon
as an admin changes them (whichever process the next request lands in), and not reread when
only cases change."""

from datetime import time

from sqlalchemy import inspect

from shared import queues
from shared.extensions import db
from shared.models import Calendar, utcnow
from shared.models.service_levels import read_settings_stamp
from shared.services import admin as admin_actions
from tests import factories

MONDAY = 0


def sign_in(client, email="sam@example.com"):
    client.post("/staff/login", data={"email": email, "password": factories.PASSWORD})


def settings_statements(statements) -> list[str]:
    """The statements that read calendars, hours, holidays, categories or teams."""
    starts = ("SELECT calendars.", "SELECT working_hours.", "SELECT holidays.",
              "SELECT categories.", "SELECT teams.")
    return [s for s in statements if s.startswith(starts)]


def test_the_settings_are_read_once_then_kept_while_nothing_changes(app, org, count_queries):
    client = app.test_client()
    sign_in(client)
    client.get("/staff/")

    with count_queries() as statements:
        response = client.get("/staff/queues/at-risk")

    assert response.status_code == 200
    assert settings_statements(statements) == []
    assert sum("FROM settings_stamp" in s for s in statements) == 1


def test_new_cases_and_owners_do_not_make_the_pages_reread_the_settings(app, org,
                                                                        count_queries):
    client = app.test_client()
    sign_in(client)
    client.get("/staff/")
    stamp = read_settings_stamp(db.session)

    factories.case_owned_by(org.sam, org.delivery)
    factories.case_owned_by(org.priya, org.bills, email="kim@example.com")
    db.session.commit()
    with count_queries() as statements:
        assert client.get("/staff/").status_code == 200

    assert read_settings_stamp(db.session) == stamp
    assert settings_statements(statements) == []


def test_changed_working_hours_count_from_the_next_request(app, org):
    client = app.test_client()
    sign_in(client)
    client.get("/staff/")
    calendar = org.service_level.calendar
    before = queues.staff_settings().calendars[calendar.id].business_calendar()
    assert before.hours[MONDAY] == (time(9), time(17))

    hours = {weekday: (time(8), time(20)) for weekday in range(5)}
    admin_actions.update_calendar(calendar, actor=org.admin, name=calendar.name,
                                  timezone=calendar.timezone, zone_label="London time",
                                  hours=hours)
    db.session.commit()

    after = queues.staff_settings().calendars[calendar.id]
    assert after.business_calendar().hours[MONDAY] == (time(8), time(20))
    assert after.zone_label == "London time"
    # The page shows each due time with the calendar's label: the new one at once.
    factories.case_owned_by(org.sam, org.delivery)
    db.session.commit()
    page = client.get("/staff/").get_data(as_text=True)
    assert "London time" in page
    assert "UK time" not in page


def test_a_new_holiday_moves_the_at_risk_edge_at_once(app, org):
    client = app.test_client()
    sign_in(client)
    client.get("/staff/")
    calendar = org.service_level.calendar
    before = queues.staff_settings().calendars[calendar.id].business_calendar()
    moment = before.add_business_days(utcnow(), 1)

    admin_actions.add_holiday(calendar, actor=org.admin, day=moment.date(), name="Founders")
    db.session.commit()

    after = queues.staff_settings().calendars[calendar.id].business_calendar()
    assert moment.date() in after.holidays
    assert after.add_business_days(utcnow(), 1) > moment


def test_renamed_categories_and_deactivated_staff_show_in_the_filters_at_once(app, org):
    client = app.test_client()
    sign_in(client, "morgan@example.com")
    first = client.get("/staff/").get_data(as_text=True)
    assert ">Delivery</option>" in first
    assert "Priya Shah (deactivated)" not in first

    admin_actions.update_category(org.delivery, actor=org.admin, name="Parcels",
                                  description=org.delivery.description,
                                  position=org.delivery.position, active=True,
                                  default_team=org.delivery.default_team,
                                  service_level=org.service_level)
    admin_actions.deactivate_staff_member(org.priya, actor=org.admin)
    db.session.commit()

    page = client.get("/staff/").get_data(as_text=True)
    assert ">Parcels</option>" in page
    assert ">Delivery</option>" not in page
    assert "Priya Shah (deactivated)" in page


def test_the_case_page_clocks_use_changed_hours_at_once(app, org):
    calendar_id = org.service_level.calendar.id

    def business_calendar_as_a_new_request_reads_it():
        db.session.expunge_all()  # hours and holidays not loaded, as in a new request
        calendar = db.session.get(Calendar, calendar_id)
        business = calendar.business_calendar()
        return business, "hours" in inspect(calendar).unloaded

    first, _read = business_calendar_as_a_new_request_reads_it()
    again, from_memory = business_calendar_as_a_new_request_reads_it()
    assert first.hours[MONDAY] == (time(9), time(17))
    assert again is first and from_memory

    calendar = db.session.get(Calendar, calendar_id)
    admin_actions.update_calendar(calendar, actor=org.admin, name=calendar.name,
                                  timezone=calendar.timezone, zone_label=calendar.zone_label,
                                  hours={weekday: (time(7), time(15)) for weekday in range(5)})
    db.session.commit()

    changed, _read = business_calendar_as_a_new_request_reads_it()
    assert changed.hours[MONDAY] == (time(7), time(15))


def test_saved_replies_are_offered_from_memory_and_changes_show_at_once(app, org,
                                                                       count_queries):
    from shared.services import saved_replies as reply_actions

    case = factories.case_owned_by(org.sam, org.delivery)
    reply = reply_actions.create_saved_reply(actor=org.admin, title="Sorry for the wait",
                                             body="Dear {customer_name}")
    db.session.commit()
    client = app.test_client()
    sign_in(client)
    page_url = f"/staff/cases/{case.reference}"
    assert ">Sorry for the wait</option>" in client.get(page_url).get_data(as_text=True)

    with count_queries() as statements:
        client.get(page_url)
    assert not [s for s in statements if "FROM saved_replies" in s]

    reply_actions.update_saved_reply(reply, actor=org.admin, title="Sorry for the delay",
                                     body="Dear {customer_name}")
    reply_actions.create_saved_reply(actor=org.admin, title="Refund agreed", body="Done.")
    db.session.commit()
    page = client.get(page_url).get_data(as_text=True)
    assert ">Sorry for the delay</option>" in page and ">Refund agreed</option>" in page
    assert "Sorry for the wait" not in page

    reply_actions.delete_saved_reply(db.session.merge(reply), actor=org.admin)
    db.session.commit()
    assert "Sorry for the delay" not in client.get(page_url).get_data(as_text=True)


def test_a_working_day_taken_off_the_calendar_counts_at_once(app, org):
    # Only the day goes: the calendar's own columns stay as they were.
    calendar = org.service_level.calendar
    assert MONDAY in queues.staff_settings().calendars[calendar.id].business_calendar().hours

    hours = {weekday: (time(9), time(17)) for weekday in range(1, 5)}
    admin_actions.update_calendar(calendar, actor=org.admin, name=calendar.name,
                                  timezone=calendar.timezone, zone_label=calendar.zone_label,
                                  hours=hours)
    db.session.commit()

    assert MONDAY not in queues.staff_settings().calendars[calendar.id].business_calendar().hours
    db.session.expunge_all()  # hours not loaded, as in a new request
    assert MONDAY not in db.session.get(Calendar, calendar.id).business_calendar().hours


def test_editing_what_a_saved_reply_says_keeps_the_settings(app, org):
    from shared.services import saved_replies as reply_actions

    reply = reply_actions.create_saved_reply(actor=org.admin, title="Sorry", body="Dear you")
    db.session.commit()
    stamp = read_settings_stamp(db.session)

    reply_actions.update_saved_reply(reply, actor=org.admin, title="Sorry", body="Dear Kim")
    db.session.commit()

    assert read_settings_stamp(db.session) == stamp

"""Admin pages for what we promise: service levels and the business calendars they count in."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from shared import services
from shared.extensions import db
from shared.models import Calendar, Holiday, Priority, ServiceLevel, WorkingHours
from shared.services import RuleViolation
from shared.services import admin as admin_actions
from tests import factories
from tests.support.html import error_beside, input_value

STANDARD_ENTRY = {
    "acknowledge": ("2", "hours"),
    "first_response": ("1", "days"),
    "resolve": ("5", "days"),
    "update_every": ("1", "days"),
}


def service_level_form(calendar, name="Premium", **overrides) -> dict:
    data = {"name": name, "calendar": calendar.id}
    for priority in Priority:
        for target, (amount, unit) in STANDARD_ENTRY.items():
            data[f"{priority}_{target}"] = amount
            data[f"{priority}_{target}_unit"] = unit
    data.update(overrides)
    return data


def selected_unit(page: str, field_id: str) -> str:
    start = page.index(f'id="{field_id}_unit"')
    options = page[start:page.index("</select>", start)]
    return options.split("<option selected value=\"")[1].split('"')[0]


WEDNESDAY_18_NOVEMBER = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


@pytest.fixture
def calendar(org):
    return org.service_level.calendar


@pytest.fixture
def admin(org, login_as):
    return login_as(org.admin)


@pytest.fixture
def admin_on_wednesday(frozen_now, org, login_as):
    """The admin, signed in with the clock stopped at 10:00 on Wednesday 18 November 2026.
    (Signed in after the clock is set: a session signed later than "now" is refused.)"""
    frozen_now(WEDNESDAY_18_NOVEMBER)
    return login_as(org.admin)


# --- Service levels -------------------------------------------------------------------------


def test_service_levels_are_listed_with_their_time_frames_in_words(admin):
    page = admin.get("/staff/admin/service-levels").get_data(as_text=True)

    normal = page[page.index(">Normal<"):page.index("</tr>", page.index(">Normal<"))]
    for time_frame in ("4 working hours", "2 working days", "10 working days"):
        assert time_frame in normal
    assert "Counted in UK office hours. Used by 3 categories." in page


def test_the_edit_page_shows_stored_targets_as_numbers_and_units(admin, org):
    response = admin.get(f"/staff/admin/service-levels/{org.service_level.id}")

    page = response.get_data(as_text=True)
    assert input_value(page, "normal_acknowledge") == "4"
    assert selected_unit(page, "normal_acknowledge") == "hours"
    assert input_value(page, "normal_first_response") == "2"
    assert selected_unit(page, "normal_first_response") == "days"
    assert "does not change existing cases" in page


def test_admin_creates_a_service_level_in_hours_and_days(admin, calendar):
    response = admin.post("/staff/admin/service-levels/new", data=service_level_form(
        calendar, normal_acknowledge="1.5", normal_update_every="4",
        normal_update_every_unit="hours",
    ))

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/admin/service-levels"
    assert "Service level “Premium” created." in admin.get(
        "/staff/admin/service-levels"
    ).get_data(as_text=True)
    premium = db.session.scalar(select(ServiceLevel).where(ServiceLevel.name == "Premium"))
    normal = premium.target_for(Priority.NORMAL)
    assert (normal.acknowledge_minutes, normal.first_response_minutes, normal.resolve_minutes,
            normal.update_every_minutes) == (90, 480, 5 * 480, 240)
    assert premium.calendar == calendar
    assert len(premium.targets) == 4


def test_a_working_day_is_the_calendars_own_open_day(admin):
    short_days = Calendar(name="Short days", timezone="Europe/London", zone_label="UK time")
    short_days.hours = [WorkingHours(weekday=d, opens=time(9), closes=time(16, 30))
                        for d in range(5)]
    db.session.add(short_days)
    db.session.commit()

    admin.post("/staff/admin/service-levels/new",
               data=service_level_form(short_days, normal_resolve="2"))

    premium = db.session.scalar(select(ServiceLevel).where(ServiceLevel.name == "Premium"))
    assert premium.target_for(Priority.NORMAL).resolve_minutes == 2 * 450


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "Normal priority, “put right within”: enter a number above 0"),
        ("-3", "Normal priority, “put right within”: enter a number above 0"),
        ("soon", "Normal priority, “put right within”: enter a number, like 4 or 1.5"),
        ("", "Normal priority, “put right within”: enter a number of hours or days"),
        ("5000", "Normal priority, “put right within”: enter 1000 or less"),
    ],
    ids=["zero", "negative", "not-a-number", "empty", "too-long"],
)
def test_targets_must_be_positive_numbers(admin, calendar, typed, message):
    response = admin.post("/staff/admin/service-levels/new",
                          data=service_level_form(calendar, normal_resolve=typed))

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_beside(page, "normal_resolve") == message
    assert input_value(page, "normal_resolve") == typed
    assert input_value(page, "name") == "Premium"
    assert db.session.scalar(select(func.count(ServiceLevel.id))) == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"high_acknowledge": "6", "high_acknowledge_unit": "days"}, "high_acknowledge",
         "High priority: acknowledge no later than the full reply."),
        ({"low_first_response": "8", "low_first_response_unit": "days"}, "low_first_response",
         "Low priority: give the full reply no later than putting it right."),
    ],
    ids=["acknowledge-after-resolve", "full-reply-after-resolve"],
)
def test_time_frames_must_come_in_order(admin, calendar, overrides, field, message):
    response = admin.post("/staff/admin/service-levels/new",
                          data=service_level_form(calendar, **overrides))

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_beside(page, field) == message
    assert input_value(page, field) == overrides[field]
    assert selected_unit(page, field) == "days"
    assert db.session.scalar(select(func.count(ServiceLevel.id))) == 1


def test_every_time_frame_out_of_order_is_shown_at_once(admin, calendar):
    response = admin.post("/staff/admin/service-levels/new", data=service_level_form(
        calendar, urgent_acknowledge="2", urgent_acknowledge_unit="days",
        low_first_response="20", low_first_response_unit="days",
    ))

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_beside(page, "urgent_acknowledge").startswith("Urgent priority: acknowledge")
    assert error_beside(page, "low_first_response").startswith("Low priority: give the full")


def test_a_service_level_name_must_be_unique(admin, calendar):
    response = admin.post("/staff/admin/service-levels/new",
                          data=service_level_form(calendar, name="standard"))

    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "name") == (
        "There is already a service level called “standard”. Choose another name."
    )


def test_editing_targets_leaves_existing_cases_their_dates(admin, org, calendar):
    before = factories.raise_case(org.delivery)
    services.commit()
    promised = (before.acknowledge_due_at, before.first_response_due_at, before.resolve_due_at)

    response = admin.post(
        f"/staff/admin/service-levels/{org.service_level.id}",
        data=service_level_form(calendar, name="Standard", normal_acknowledge="1"),
    )

    assert response.status_code == 302
    assert "existing ones keep the dates they were given" in admin.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    db.session.expire_all()
    assert (before.acknowledge_due_at, before.first_response_due_at,
            before.resolve_due_at) == promised
    assert org.service_level.target_for(Priority.NORMAL).acknowledge_minutes == 60
    after = factories.raise_case(org.delivery, email="later@example.com")
    services.commit()
    assert after.acknowledge_due_at == calendar.business_calendar().add_business_minutes(
        after.created_at, 60
    )


# --- Business calendars ---------------------------------------------------------------------


def calendar_form(**overrides) -> dict:
    data = {"name": "UK office hours", "timezone": "Europe/London", "zone_label": "UK time"}
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday"):
        data.update({f"{day}_open": "y", f"{day}_opens": "09:00", f"{day}_closes": "17:00"})
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_calendars_are_listed_with_zone_hours_and_next_holiday(
    admin_on_wednesday, calendar, frozen_now
):
    admin = admin_on_wednesday
    calendar.holidays.append(Holiday(day=date(2026, 11, 21), name="Founders' Day"))
    db.session.commit()

    page = admin.get("/staff/admin/calendars").get_data(as_text=True)

    assert "Europe/London (customers read “UK time”)" in page
    assert "09:00 to 17:00 UK time, Monday to Friday, except public holidays" in page
    assert "Founders&#39; Day, Saturday 21 November 2026" in page  # before Christmas Day

    frozen_now(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
    page = admin.get("/staff/admin/calendars").get_data(as_text=True)
    assert "Christmas Day, Friday 25 December 2026" in page
    assert "Founders&#39; Day" not in page


def test_the_calendar_page_shows_its_hours(admin, calendar):
    page = admin.get(f"/staff/admin/calendars/{calendar.id}").get_data(as_text=True)

    assert 'checked id="monday_open"' in page
    assert 'id="saturday_open" name="saturday_open" type="checkbox" value="y"' in page
    assert input_value(page, "monday_opens") == "09:00"
    assert input_value(page, "timezone") == "Europe/London"


def test_admin_changes_zone_label_and_working_hours(admin, calendar):
    response = admin.post(f"/staff/admin/calendars/{calendar.id}", data=calendar_form(
        timezone="America/New_York", zone_label="New York time",
        friday_open=None, saturday_open="y", saturday_opens="10:00", saturday_closes="14:00",
    ))

    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/admin/calendars/{calendar.id}"
    assert "existing ones keep the dates they were given" in admin.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    db.session.expire_all()
    assert (calendar.timezone, calendar.zone_label) == ("America/New_York", "New York time")
    assert [(h.weekday, h.opens, h.closes) for h in calendar.hours] == [
        *[(d, time(9), time(17)) for d in range(4)], (5, time(10), time(14))
    ]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("Mars/Olympus", "“Mars/Olympus” is not a time zone we know. Use a name from the IANA"
         " list, like Europe/London or America/New_York."),
        ("europe/london", "“europe/london” is not a time zone we know. Use a name from the IANA"
         " list, like Europe/London or America/New_York. Did you mean Europe/London?"),
        ("", "Enter a time zone, like Europe/London"),
    ],
    ids=["unknown", "wrong-capitals", "empty"],
)
def test_the_zone_must_be_a_real_iana_zone(admin, calendar, typed, message):
    response = admin.post(f"/staff/admin/calendars/{calendar.id}",
                          data=calendar_form(timezone=typed, zone_label="Martian time"))

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_beside(page, "timezone") == message
    assert input_value(page, "timezone") == typed
    assert input_value(page, "zone_label") == "Martian time"
    db.session.expire_all()
    assert calendar.timezone == "Europe/London"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"monday_opens": "18:00"}, "monday_closes",
         "Monday: closing time must be after opening time."),
        ({"tuesday_closes": ""}, "tuesday_closes", "Tuesday: enter the closing time, like 17:00"),
        ({"wednesday_opens": "9am"}, "wednesday_opens",
         "Wednesday: enter a time like 09:00 or 17:30"),
        ({f"{day}_open": None for day in ("monday", "tuesday", "wednesday", "thursday",
                                          "friday")}, "monday_open",
         "Open on at least one day of the week."),
    ],
    ids=["opens-after-closes", "missing-time", "not-a-time", "never-open"],
)
def test_working_hours_must_make_sense(admin, calendar, overrides, field, message):
    response = admin.post(f"/staff/admin/calendars/{calendar.id}",
                          data=calendar_form(zone_label="Office time", **overrides))

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_beside(page, field) == message
    assert input_value(page, "zone_label") == "Office time"
    if "monday_opens" in overrides:
        assert input_value(page, "monday_opens") == "18:00"
    db.session.expire_all()
    assert calendar.zone_label == "UK time"
    assert len(calendar.hours) == 5


def test_every_problem_with_zone_and_hours_is_shown_at_once(admin, calendar):
    response = admin.post(f"/staff/admin/calendars/{calendar.id}", data=calendar_form(
        timezone="Mars/Olympus", monday_opens="18:00", thursday_closes="08:00",
    ))

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Mars/Olympus" in error_beside(page, "timezone")
    assert error_beside(page, "monday_closes").startswith("Monday: closing time")
    assert error_beside(page, "thursday_closes").startswith("Thursday: closing time")


def test_changing_hours_leaves_existing_cases_their_dates(admin, org, calendar):
    case = factories.raise_case(org.delivery)
    services.commit()
    promised = case.resolve_due_at

    admin.post(f"/staff/admin/calendars/{calendar.id}",
               data=calendar_form(monday_opens="07:00", monday_closes="20:00"))

    db.session.expire_all()
    assert calendar.hours[0].opens == time(7)
    assert case.resolve_due_at == promised


def test_admin_adds_a_calendar(admin):
    response = admin.post("/staff/admin/calendars/new", data=calendar_form(
        name="Sydney office", timezone="Australia/Sydney", zone_label="Sydney time"
    ))

    sydney = db.session.scalar(select(Calendar).where(Calendar.name == "Sydney office"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/admin/calendars/{sydney.id}"
    assert "Calendar “Sydney office” created." in admin.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    assert [h.weekday for h in sydney.hours] == [0, 1, 2, 3, 4]
    assert "Sydney office" in admin.get("/staff/admin/service-levels/new").get_data(as_text=True)


def test_a_calendar_name_must_be_unique(admin, calendar):
    response = admin.post("/staff/admin/calendars/new", data=calendar_form())

    assert response.status_code == 422
    assert error_beside(response.get_data(as_text=True), "name") == (
        "There is already a calendar called “UK office hours”. Choose another name."
    )
    assert db.session.scalar(select(func.count(Calendar.id))) == 1


# --- Holidays -------------------------------------------------------------------------------


def test_holidays_are_listed_upcoming_first_then_the_past(admin_on_wednesday, calendar):
    admin = admin_on_wednesday
    today = WEDNESDAY_18_NOVEMBER.date()
    calendar.holidays.clear()
    db.session.flush()
    calendar.holidays = [
        Holiday(day=today + timedelta(days=40), name="Later"),
        Holiday(day=today - timedelta(days=30), name="Gone"),
        Holiday(day=today + timedelta(days=5), name="Soon"),
    ]
    db.session.commit()

    page = admin.get(f"/staff/admin/calendars/{calendar.id}").get_data(as_text=True)

    assert page.index("Soon") < page.index("Later") < page.index("Past holidays (1)")
    assert page.index("Past holidays (1)") < page.index("Gone")


def test_admin_adds_a_holiday(admin_on_wednesday, calendar):
    admin = admin_on_wednesday
    day = date(2026, 11, 27)  # a working Friday, no holiday yet
    response = admin.post(f"/staff/admin/calendars/{calendar.id}/holidays",
                          data={"holiday-day": day.isoformat(), "holiday-name": "Staff day"})

    assert response.status_code == 302
    assert f"Staff day ({day:%d %B %Y}) added as a holiday." in admin.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    assert db.session.scalar(
        select(Holiday).where(Holiday.calendar_id == calendar.id, Holiday.day == day)
    ).name == "Staff day"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"holiday-day": "2026-12-25", "holiday-name": "Another Christmas"}, "holiday-day",
         "Christmas Day is already a holiday on 25 December 2026."),
        ({"holiday-day": "25/12/2030", "holiday-name": "Christmas"}, "holiday-day",
         "Enter a date like 2026-12-25"),
        ({"holiday-day": "", "holiday-name": "Christmas"}, "holiday-day",
         "Enter the date of the holiday, like 2026-12-25"),
        ({"holiday-day": "2030-12-25", "holiday-name": ""}, "holiday-name",
         "Enter the holiday&#39;s name"),
    ],
    ids=["same-day-twice", "not-a-date", "no-date", "no-name"],
)
def test_bad_holidays_are_refused_beside_the_field(admin, calendar, data, field, message):
    holidays_before = len(calendar.holidays)

    response = admin.post(f"/staff/admin/calendars/{calendar.id}/holidays", data=data)

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_beside(page, field) == message
    assert input_value(page, "holiday-name") == data["holiday-name"]
    assert input_value(page, "holiday-day") == data["holiday-day"]
    db.session.expire_all()
    assert len(calendar.holidays) == holidays_before


def test_admin_removes_a_holiday(admin, calendar):
    christmas = next(h for h in calendar.holidays if h.day == date(2026, 12, 25))
    christmas_id = christmas.id

    response = admin.post(f"/staff/admin/calendars/{calendar.id}/holidays/{christmas_id}/remove")

    assert response.status_code == 302
    assert "Christmas Day (25 December 2026) is no longer a holiday." in admin.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    assert db.session.get(Holiday, christmas_id) is None


def test_a_holiday_is_removed_only_through_its_own_calendar(admin, calendar):
    other = Calendar(name="Other", timezone="UTC", zone_label="UTC",
                     hours=[WorkingHours(weekday=0, opens=time(9), closes=time(17))])
    db.session.add(other)
    db.session.commit()
    holiday = calendar.holidays[0]

    response = admin.post(f"/staff/admin/calendars/{other.id}/holidays/{holiday.id}/remove")

    assert response.status_code == 404
    assert db.session.get(Holiday, holiday.id) is not None


# --- The rules hold whoever calls them ------------------------------------------------------


def test_the_service_refuses_time_frames_out_of_order_or_not_positive(org, calendar):
    fine = admin_actions.TargetMinutes(60, 480, 2400, 480)
    targets = {priority: fine for priority in Priority}

    with pytest.raises(RuleViolation) as late_acknowledgement:
        admin_actions.create_service_level(
            actor=org.admin, name="Odd", calendar=calendar,
            targets={**targets, Priority.HIGH: admin_actions.TargetMinutes(600, 480, 2400, 480)},
        )
    with pytest.raises(RuleViolation) as no_updates:
        admin_actions.update_service_level_targets(
            org.service_level, actor=org.admin,
            targets={**targets, Priority.LOW: admin_actions.TargetMinutes(60, 480, 2400, 0)},
        )

    assert late_acknowledgement.value.field == "high_acknowledge"
    assert no_updates.value.field == "low_update_every"


def test_the_service_refuses_a_bad_zone_or_a_week_without_opening_hours(org, calendar):
    with pytest.raises(RuleViolation) as bad_zone:
        admin_actions.update_calendar(calendar, actor=org.admin, name=calendar.name,
                                      timezone="Atlantis/Capital", zone_label="Atlantis time",
                                      hours={0: (time(9), time(17))})
    with pytest.raises(RuleViolation) as never_open:
        admin_actions.create_calendar(actor=org.admin, name="Closed", timezone="UTC",
                                      zone_label="UTC", hours={})

    assert bad_zone.value.field == "timezone"
    assert never_open.value.field == "monday_open"

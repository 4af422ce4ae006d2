from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.clock import (
    BusinessCalendar,
    describe_due,
    humanise_duration,
    short_due,
)

UTC = UTC
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")

# England and Wales bank holidays, 2026. 26 Dec is a Saturday, so the
# Boxing Day holiday moves to Monday 28 Dec.
UK_HOLIDAYS_2026 = frozenset(
    {
        date(2026, 1, 1),
        date(2026, 4, 3),
        date(2026, 4, 6),
        date(2026, 5, 4),
        date(2026, 5, 25),
        date(2026, 8, 31),
        date(2026, 12, 25),
        date(2026, 12, 28),
    }
)

UK = BusinessCalendar.standard(holidays=UK_HOLIDAYS_2026)
EVERY_DAY_LONDON = BusinessCalendar(
    timezone=LONDON, hours={weekday: (time(9), time(17)) for weekday in range(7)}
)


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- calendar construction ------------------------------------------------


def test_standard_calendar_is_monday_to_friday_nine_to_five():
    assert UK.timezone == LONDON
    assert set(UK.hours) == {0, 1, 2, 3, 4}
    assert UK.hours[0] == (time(9), time(17))
    assert date(2026, 12, 28) in UK.holidays


def test_standard_accepts_a_zoneinfo():
    assert BusinessCalendar.standard(NEW_YORK).timezone == NEW_YORK


def test_calendar_with_no_open_hours_is_rejected():
    with pytest.raises(ValueError):
        BusinessCalendar(timezone=LONDON, hours={})


@pytest.mark.parametrize(
    "hours",
    [
        {0: (time(17), time(9))},
        {0: (time(9), time(9))},
        {7: (time(9), time(17))},
        {-1: (time(9), time(17))},
    ],
)
def test_invalid_opening_hours_are_rejected(hours):
    with pytest.raises(ValueError):
        BusinessCalendar(timezone=LONDON, hours=hours)


def test_calendar_does_not_follow_later_changes_to_the_callers_dict():
    hours = {0: (time(9), time(17))}
    calendar = BusinessCalendar(timezone=LONDON, hours=hours)
    hours[1] = (time(9), time(17))
    assert set(calendar.hours) == {0}


def test_calendar_is_hashable():
    assert hash(UK) == hash(BusinessCalendar.standard(holidays=UK_HOLIDAYS_2026))


def test_working_minutes_per_day():
    assert UK.working_minutes_per_day() == 480
    with_saturday_morning = BusinessCalendar(
        timezone=LONDON,
        hours={**{d: (time(9), time(17)) for d in range(5)}, 5: (time(10), time(13))},
    )
    assert with_saturday_morning.working_minutes_per_day() == (5 * 480 + 180) / 6


# -- naive datetimes ------------------------------------------------------

NAIVE = datetime(2026, 11, 23, 10, 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: UK.is_open(NAIVE),
        lambda: UK.next_opening(NAIVE),
        lambda: UK.add_business_minutes(NAIVE, 60),
        lambda: UK.add_business_minutes(NAIVE, 0),
        lambda: UK.add_business_days(NAIVE, 1),
        lambda: UK.business_minutes_between(NAIVE, utc(2026, 11, 24)),
        lambda: UK.business_minutes_between(utc(2026, 11, 24), NAIVE),
        lambda: describe_due(NAIVE, LONDON, "UK time"),
        lambda: short_due(NAIVE, LONDON),
    ],
)
def test_naive_datetimes_are_rejected(call):
    with pytest.raises(ValueError):
        call()


def test_negative_amounts_are_rejected():
    with pytest.raises(ValueError):
        UK.add_business_minutes(london(2026, 11, 23, 10), -1)
    with pytest.raises(ValueError):
        UK.add_business_days(london(2026, 11, 23, 10), -1)


# -- is_open, next_opening, closing boundary ---------------------------------


def test_is_open_includes_opening_and_excludes_closing():
    assert UK.is_open(london(2026, 11, 23, 9, 0))
    assert UK.is_open(london(2026, 11, 23, 16, 59, 59))
    assert not UK.is_open(london(2026, 11, 23, 17, 0))
    assert not UK.is_open(london(2026, 11, 23, 8, 59, 59))
    assert not UK.is_open(london(2026, 11, 28, 12))  # Saturday
    assert not UK.is_open(london(2026, 12, 25, 12))  # Christmas Day


def test_results_are_in_utc():
    result = UK.add_business_minutes(london(2026, 7, 6, 10), 60)
    assert result.tzinfo is UTC
    assert result == utc(2026, 7, 6, 10)  # 11:00 BST
    assert UK.next_opening(london(2026, 7, 6, 10)).tzinfo is UTC
    assert UK.add_business_days(london(2026, 7, 6, 10), 1).tzinfo is UTC


def test_next_opening_of_an_open_moment_is_the_moment_itself():
    moment = london(2026, 11, 23, 11, 17, 3)
    assert UK.next_opening(moment) == moment


def test_landing_exactly_at_closing_stays_at_closing():
    assert UK.add_business_minutes(london(2026, 11, 23, 9), 480) == utc(2026, 11, 23, 17)
    assert UK.add_business_minutes(london(2026, 11, 23, 16), 60) == utc(2026, 11, 23, 17)
    assert UK.add_business_minutes(london(2026, 11, 23, 9), 481) == utc(2026, 11, 24, 9, 1)


def test_a_case_raised_at_closing_time_counts_from_the_next_opening():
    closing = london(2026, 11, 23, 17)
    assert UK.next_opening(closing) == utc(2026, 11, 24, 9)
    assert UK.add_business_minutes(closing, 0) == utc(2026, 11, 24, 9)
    assert UK.add_business_minutes(closing, 30) == utc(2026, 11, 24, 9, 30)


# -- cases raised outside hours ---------------------------------------------


def test_raised_in_the_evening():
    assert UK.add_business_minutes(london(2026, 11, 24, 18, 30), 240) == utc(2026, 11, 25, 13)


def test_raised_in_the_night():
    assert UK.add_business_minutes(london(2026, 11, 25, 3), 60) == utc(2026, 11, 25, 10)


def test_raised_on_saturday_counts_from_monday_opening():
    saturday = london(2026, 11, 28, 11)
    assert UK.add_business_minutes(saturday, 0) == utc(2026, 11, 30, 9)
    assert UK.add_business_minutes(saturday, 240) == utc(2026, 11, 30, 13)


def test_friday_afternoon_runs_over_the_weekend():
    assert UK.add_business_minutes(london(2026, 11, 27, 16), 120) == utc(2026, 11, 30, 10)


def test_raised_on_a_holiday():
    christmas = london(2026, 12, 25, 10)
    assert UK.next_opening(christmas) == utc(2026, 12, 29, 9)
    assert UK.add_business_minutes(christmas, 90) == utc(2026, 12, 29, 10, 30)


def test_christmas_and_the_moved_boxing_day_are_skipped():
    # 60 minutes on Thu 24 Dec; Fri 25 holiday, weekend, Mon 28 holiday.
    assert UK.add_business_minutes(london(2026, 12, 24, 16), 120) == utc(2026, 12, 29, 10)
    assert UK.add_business_days(london(2026, 12, 24, 10), 1) == utc(2026, 12, 29, 17)


def test_good_friday_and_easter_monday_are_skipped():
    # Thu 2 Apr 2026 16:00 BST + 2 hours -> Tue 7 Apr 10:00 BST.
    assert UK.add_business_minutes(london(2026, 4, 2, 16), 120) == utc(2026, 4, 7, 9)


def test_a_year_of_holidays_is_fine():
    all_of_2026 = frozenset(date(2026, 1, 1) + timedelta(days=n) for n in range(365))
    calendar = BusinessCalendar.standard(holidays=all_of_2026)
    assert calendar.next_opening(london(2026, 1, 1)) == utc(2027, 1, 1, 9)


def test_a_calendar_that_never_opens_raises_instead_of_looping():
    mondays = frozenset(date(2026, 1, 5) + timedelta(weeks=n) for n in range(600))
    mondays_only = BusinessCalendar(
        timezone=LONDON, hours={0: (time(9), time(17))}, holidays=mondays
    )
    with pytest.raises(ValueError):
        mondays_only.next_opening(london(2026, 1, 1))
    with pytest.raises(ValueError):
        mondays_only.add_business_minutes(london(2026, 1, 1), 60)
    with pytest.raises(ValueError):
        mondays_only.add_business_days(london(2026, 1, 1), 1)


# -- business days ------------------------------------------------------------


def test_one_business_day_from_monday_morning_is_tuesday_closing():
    assert UK.add_business_days(london(2026, 11, 23, 10), 1) == utc(2026, 11, 24, 17)


def test_one_business_day_from_friday_evening_is_tuesday_closing():
    assert UK.add_business_days(london(2026, 11, 27, 18), 1) == utc(2026, 12, 1, 17)


def test_zero_business_days_is_closing_of_the_day_counting_starts():
    assert UK.add_business_days(london(2026, 11, 23, 10), 0) == utc(2026, 11, 23, 17)
    assert UK.add_business_days(london(2026, 11, 28, 10), 0) == utc(2026, 11, 30, 17)
    assert UK.add_business_days(london(2026, 11, 23, 17), 0) == utc(2026, 11, 24, 17)


def test_five_business_days_span_a_weekend():
    assert UK.add_business_days(london(2026, 11, 25, 12), 5) == utc(2026, 12, 2, 17)


def test_long_spans_are_quick_and_correct():
    # 250 working days of 2026 after 1 Jan, less the seven later bank holidays:
    # each whole working day is 480 minutes.
    start = london(2026, 1, 2, 9)
    end = UK.add_business_minutes(start, 480 * 200)
    assert UK.business_minutes_between(start, end) == 480 * 200
    assert UK.add_business_days(start, 10) == utc(2026, 1, 16, 17)


# -- business_minutes_between ----------------------------------------------------


def test_minutes_between_over_a_weekend():
    assert UK.business_minutes_between(london(2026, 11, 27, 16), london(2026, 11, 30, 10)) == 120


def test_minutes_between_closed_instants_is_zero():
    assert UK.business_minutes_between(london(2026, 11, 28, 1), london(2026, 11, 29, 23)) == 0


def test_minutes_between_is_negative_when_end_is_earlier():
    assert UK.business_minutes_between(london(2026, 11, 30, 10), london(2026, 11, 27, 16)) == -120


def test_minutes_between_floors_partial_minutes():
    start = london(2026, 11, 23, 9)
    assert UK.business_minutes_between(start, start + timedelta(seconds=119.9)) == 1
    assert UK.business_minutes_between(start + timedelta(seconds=119.9), start) == -1
    assert UK.business_minutes_between(start, start + timedelta(seconds=59)) == 0


# -- daylight saving time in London -------------------------------------------


def test_friday_to_monday_over_spring_forward():
    # Fri 27 Mar 2026 16:00 GMT; clocks go forward Sun 29 Mar; Mon 10:00 BST is 09:00 UTC.
    assert UK.add_business_minutes(london(2026, 3, 27, 16), 120) == utc(2026, 3, 30, 9)
    assert UK.business_minutes_between(london(2026, 3, 27, 9), london(2026, 3, 30, 17)) == 960
    assert UK.next_opening(london(2026, 3, 28, 12)) == utc(2026, 3, 30, 8)


def test_friday_to_monday_over_fall_back():
    # Fri 23 Oct 2026 16:00 BST is 15:00 UTC; clocks go back Sun 25 Oct.
    assert UK.add_business_minutes(london(2026, 10, 23, 16), 120) == utc(2026, 10, 26, 10)
    assert UK.business_minutes_between(london(2026, 10, 23, 9), london(2026, 10, 26, 17)) == 960
    assert UK.add_business_days(london(2026, 10, 23, 10), 1) == utc(2026, 10, 26, 17)


@pytest.mark.parametrize(
    ("dst_sunday", "opens_utc", "closes_utc"),
    [
        (date(2026, 3, 29), utc(2026, 3, 29, 8), utc(2026, 3, 29, 16)),
        (date(2026, 10, 25), utc(2026, 10, 25, 9), utc(2026, 10, 25, 17)),
    ],
)
def test_a_dst_day_is_still_eight_business_hours(dst_sunday, opens_utc, closes_utc):
    opening = datetime.combine(dst_sunday, time(9), tzinfo=LONDON)
    closing = datetime.combine(dst_sunday, time(17), tzinfo=LONDON)
    assert EVERY_DAY_LONDON.next_opening(opening) == opens_utc
    assert EVERY_DAY_LONDON.business_minutes_between(opening, closing) == 480
    assert EVERY_DAY_LONDON.add_business_minutes(opening, 480) == closes_utc
    assert EVERY_DAY_LONDON.add_business_days(opening, 0) == closes_utc


def test_saturday_into_the_spring_forward_sunday():
    # Sat 28 Mar 16:00 GMT + 2 hours -> Sun 29 Mar 10:00 BST (09:00 UTC).
    assert EVERY_DAY_LONDON.add_business_minutes(london(2026, 3, 28, 16), 120) == utc(
        2026, 3, 29, 9
    )


def test_hours_spanning_the_clock_change_count_real_minutes():
    # Open 00:30-03:30 wall time: an hour shorter when clocks go forward,
    # an hour longer when they go back.
    night_shift = BusinessCalendar(
        timezone=LONDON, hours={weekday: (time(0, 30), time(3, 30)) for weekday in range(7)}
    )
    spring = date(2026, 3, 29)
    autumn = date(2026, 10, 25)

    def whole_day(day):
        return (
            datetime.combine(day, time(0), tzinfo=LONDON),
            datetime.combine(day, time(23), tzinfo=LONDON),
        )

    assert night_shift.business_minutes_between(*whole_day(spring)) == 120
    assert night_shift.business_minutes_between(*whole_day(autumn)) == 240
    assert night_shift.add_business_minutes(utc(2026, 3, 29, 0, 30), 120) == utc(2026, 3, 29, 2, 30)
    # 00:30 BST on 25 Oct is 23:30 UTC the day before.
    assert night_shift.next_opening(utc(2026, 10, 24, 23)) == utc(2026, 10, 24, 23, 30)
    assert night_shift.add_business_minutes(utc(2026, 10, 24, 23, 30), 240) == utc(
        2026, 10, 25, 3, 30
    )


# -- other time zones -------------------------------------------------------------


def test_new_york_start_given_in_utc_on_a_different_local_date():
    new_york = BusinessCalendar.standard(NEW_YORK)
    # Fri 27 Nov 03:00 UTC is Thu 26 Nov 22:00 EST.
    start = utc(2026, 11, 27, 3)
    assert not new_york.is_open(start)
    assert new_york.next_opening(start) == utc(2026, 11, 27, 14)
    assert new_york.add_business_minutes(start, 60) == utc(2026, 11, 27, 15)
    # Thu 26 Nov 21:30 UTC is 16:30 EST, still open.
    assert new_york.is_open(utc(2026, 11, 26, 21, 30))
    assert new_york.add_business_minutes(utc(2026, 11, 26, 21, 30), 60) == utc(
        2026, 11, 27, 14, 30
    )


def test_new_york_dst_differs_from_london():
    # US clocks go forward on 8 Mar 2026; Fri 6 Mar 16:00 EST -> Mon 9 Mar 10:00 EDT.
    new_york = BusinessCalendar.standard(NEW_YORK)
    start = datetime(2026, 3, 6, 16, tzinfo=NEW_YORK)
    assert new_york.add_business_minutes(start, 120) == utc(2026, 3, 9, 14)


def test_sydney_saturday_morning_given_as_friday_utc():
    sydney = BusinessCalendar.standard(SYDNEY)
    # Fri 5 Jun 23:30 UTC is Sat 6 Jun 09:30 AEST.
    start = utc(2026, 6, 5, 23, 30)
    assert not sydney.is_open(start)
    # Mon 8 Jun 09:00 AEST is Sun 7 Jun 23:00 UTC.
    assert sydney.next_opening(start) == utc(2026, 6, 7, 23)
    assert sydney.add_business_days(start, 0) == utc(2026, 6, 8, 7)


def test_sydney_weekend_over_its_spring_forward():
    sydney = BusinessCalendar.standard(SYDNEY)
    # Fri 2 Oct 16:00 AEST (06:00 UTC); clocks go forward Sun 4 Oct;
    # Mon 5 Oct 10:00 AEDT is Sun 4 Oct 23:00 UTC.
    start = datetime(2026, 10, 2, 16, tzinfo=SYDNEY)
    assert start.astimezone(UTC) == utc(2026, 10, 2, 6)
    assert sydney.add_business_minutes(start, 120) == utc(2026, 10, 4, 23)


# -- wording ------------------------------------------------------------------------


def test_describe_due():
    assert describe_due(utc(2026, 11, 26, 17), LONDON, "UK time") == (
        "Thursday 26 November, 17:00 UK time"
    )
    # Summer time: 16:00 UTC is 17:00 in London; no leading zero on the day.
    assert describe_due(utc(2026, 7, 2, 16), LONDON, "UK time") == "Thursday 2 July, 17:00 UK time"


def test_describe_due_uses_the_calendar_zone_date():
    assert describe_due(utc(2026, 11, 27, 3), NEW_YORK, "New York time") == (
        "Thursday 26 November, 22:00 New York time"
    )


def test_short_due():
    assert short_due(utc(2026, 11, 26, 17), LONDON) == "Thu 26 Nov, 17:00"
    assert short_due(utc(2026, 7, 2, 8, 5), LONDON) == "Thu 2 Jul, 09:05"


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (0, "0 minutes"),
        (1, "1 minute"),
        (45, "45 minutes"),
        (60, "1 hour"),
        (61, "1 hour 1 minute"),
        (90, "1 hour 30 minutes"),
        (120, "2 hours"),
        (480, "8 hours"),
        (2400, "40 hours"),
    ],
)
def test_humanise_duration(minutes, words):
    assert humanise_duration(minutes) == words


def test_humanise_duration_rejects_negative():
    with pytest.raises(ValueError):
        humanise_duration(-5)


# -- properties ------------------------------------------------------------------------

CALENDARS = [
    UK,
    EVERY_DAY_LONDON,
    BusinessCalendar.standard(NEW_YORK, opens=time(8, 30), closes=time(18)),
    BusinessCalendar(
        timezone=SYDNEY,
        hours={**{d: (time(9), time(17)) for d in range(5)}, 5: (time(10), time(13))},
        holidays=frozenset({date(2026, 1, 26), date(2026, 12, 25), date(2026, 12, 28)}),
    ),
]

calendars = st.sampled_from(CALENDARS)
instants = st.datetimes(
    min_value=datetime(2025, 10, 1), max_value=datetime(2027, 4, 1), timezones=st.just(UTC)
)
# Up to about six weeks of business time.
business_minutes = st.integers(min_value=0, max_value=15_000)


def _is_closing_time(calendar, moment):
    local = moment.astimezone(calendar.timezone)
    hours = calendar.hours.get(local.weekday())
    return (
        hours is not None
        and local.date() not in calendar.holidays
        and local.time() == hours[1]
    )


@settings(max_examples=200, deadline=None)
@given(calendar=calendars, raw_start=instants, minutes=business_minutes)
def test_round_trip_from_open_hours(calendar, raw_start, minutes):
    start = calendar.next_opening(raw_start)
    end = calendar.add_business_minutes(start, minutes)
    assert calendar.business_minutes_between(start, end) == minutes


@settings(max_examples=200, deadline=None)
@given(calendar=calendars, start=instants, minutes=business_minutes)
def test_round_trip_from_any_instant(calendar, start, minutes):
    end = calendar.add_business_minutes(start, minutes)
    assert calendar.business_minutes_between(start, end) == minutes


@settings(max_examples=200, deadline=None)
@given(calendar=calendars, start=instants, a=business_minutes, b=business_minutes)
def test_more_minutes_never_give_an_earlier_result(calendar, start, a, b):
    fewer, more = sorted((a, b))
    assert calendar.add_business_minutes(start, fewer) <= calendar.add_business_minutes(start, more)


@settings(max_examples=200, deadline=None)
@given(calendar=calendars, start=instants, minutes=st.integers(min_value=1, max_value=15_000))
def test_result_is_in_open_hours_or_exactly_at_closing(calendar, start, minutes):
    result = calendar.add_business_minutes(start, minutes)
    assert result > start
    assert calendar.is_open(result) or _is_closing_time(calendar, result)


@settings(max_examples=200, deadline=None)
@given(calendar=calendars, start=instants, minutes=business_minutes)
def test_result_is_never_on_a_holiday_or_closed_weekday(calendar, start, minutes):
    result = calendar.add_business_minutes(start, minutes)
    local_date = result.astimezone(calendar.timezone).date()
    assert local_date not in calendar.holidays
    assert local_date.weekday() in calendar.hours


@settings(max_examples=200, deadline=None)
@given(calendar=calendars, start=instants, days=st.integers(min_value=0, max_value=30))
def test_business_days_end_at_a_closing_time_after_the_start(calendar, start, days):
    result = calendar.add_business_days(start, days)
    assert result > start
    assert _is_closing_time(calendar, result)
    if days:
        assert result > calendar.add_business_days(start, days - 1)


# -- opening hours that fall in a clock change ----------------------------------------
# New York: clocks go forward at 02:00 on Sun 8 Mar 2026 (02:00-02:59 never happens) and back
# at 02:00 on Sun 1 Nov 2026 (01:00-01:59 happens twice).


def sundays_in_new_york(opens: time, closes: time) -> BusinessCalendar:
    return BusinessCalendar(timezone=NEW_YORK, hours={6: (opens, closes)})


def test_closing_time_in_the_spring_gap_is_the_moment_the_clocks_change():
    early_hours = sundays_in_new_york(time(0), time(2, 45))
    # Opens 00:00 EST (05:00 UTC); 02:45 does not exist, so it closes at 02:00 EST, when the
    # clocks jump to 03:00 EDT (07:00 UTC).
    assert early_hours.is_open(utc(2026, 3, 8, 6, 59))
    assert not early_hours.is_open(utc(2026, 3, 8, 7))
    assert not early_hours.is_open(utc(2026, 3, 8, 7, 30))  # 03:30 EDT
    assert early_hours.add_business_days(utc(2026, 3, 8, 5), 0) == utc(2026, 3, 8, 7)
    assert early_hours.business_minutes_between(utc(2026, 3, 8), utc(2026, 3, 9)) == 120
    # 30 minutes left that night; the other 30 on Sun 15 Mar from 00:00 EDT (04:00 UTC).
    assert early_hours.add_business_minutes(utc(2026, 3, 8, 6, 30), 60) == utc(2026, 3, 15, 4, 30)


def test_opening_time_in_the_spring_gap_is_the_moment_the_clocks_change():
    late_start = sundays_in_new_york(time(2, 30), time(5))
    # 02:30 does not exist: it opens at 03:00 EDT (07:00 UTC) and closes at 05:00 EDT.
    assert late_start.next_opening(utc(2026, 3, 8, 5)) == utc(2026, 3, 8, 7)
    assert not late_start.is_open(utc(2026, 3, 8, 6, 59))
    assert late_start.business_minutes_between(utc(2026, 3, 8), utc(2026, 3, 9)) == 120


def test_hours_wholly_inside_the_spring_gap_do_not_open_that_day():
    never_that_night = sundays_in_new_york(time(2, 15), time(2, 45))
    # Next opening: Sun 15 Mar 02:15 EDT (06:15 UTC).
    assert never_that_night.next_opening(utc(2026, 3, 8, 5)) == utc(2026, 3, 15, 6, 15)


def test_times_that_happen_twice_in_the_autumn_count_the_first_time():
    # 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST): the first one counts,
    # for opening and for closing alike.
    closes_at_half_past_one = sundays_in_new_york(time(0), time(1, 30))
    assert closes_at_half_past_one.add_business_days(utc(2026, 11, 1, 4), 0) == utc(
        2026, 11, 1, 5, 30
    )
    opens_at_half_past_one = sundays_in_new_york(time(1, 30), time(5))
    assert opens_at_half_past_one.next_opening(utc(2026, 11, 1, 4)) == utc(2026, 11, 1, 5, 30)
    # 05:00 EST is 10:00 UTC: four and a half hours open that night.
    assert opens_at_half_past_one.business_minutes_between(
        utc(2026, 11, 1), utc(2026, 11, 2)
    ) == 270

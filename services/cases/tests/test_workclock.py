"""Working-time arithmetic on the calendar, property-tested: adding working time and
measuring it back agree exactly, whatever the start, the calendar or the amount."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.cases.workclock import SHANGHAI, Calendar, CalendarError

DEFAULT = Calendar.default()
MONDAY_0900 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


def test_limits_count_working_hours_only():
    # Friday 16:30 + 2 working hours: 1 h on Friday, 1 h on Monday morning
    friday = datetime(2026, 3, 6, 16, 30, tzinfo=SHANGHAI)
    assert DEFAULT.add(friday, 2 * 3600) == datetime(2026, 3, 9, 9, 30, tzinfo=SHANGHAI)
    # the lunch break does not count
    assert DEFAULT.add(MONDAY_0900, 4 * 3600) == datetime(2026, 3, 2, 14, 30, tzinfo=SHANGHAI)
    # a report at night starts counting at 08:30
    night = datetime(2026, 3, 2, 22, 0, tzinfo=SHANGHAI)
    assert DEFAULT.add(night, 3600) == datetime(2026, 3, 3, 9, 30, tzinfo=SHANGHAI)


def test_holidays_stop_the_clock_and_worked_weekends_run_it():
    calendar = Calendar.of(
        {
            "hours": [["09:00", "17:00"]],
            "holidays": ["2026-10-01", "2026-10-02"],
            "workdays": ["2026-10-10"],
        }
    )
    start = datetime(2026, 9, 30, 16, 0, tzinfo=SHANGHAI)  # Wednesday before the holiday
    # 1 h on the 30th, the 1st and 2nd are holidays, the 3rd-4th a weekend: Monday the 5th
    assert calendar.add(start, 2 * 3600) == datetime(2026, 10, 5, 10, 0, tzinfo=SHANGHAI)
    saturday = datetime(2026, 10, 10, 9, 0, tzinfo=SHANGHAI)  # 调休: a Saturday worked
    assert calendar.between(saturday, saturday + timedelta(hours=3)) == 3 * 3600
    assert not calendar.works_on(date(2026, 10, 11))


def test_a_calendar_must_make_sense():
    with pytest.raises(CalendarError):
        Calendar.of({"hours": [["12:00", "09:00"]]})
    with pytest.raises(CalendarError):
        Calendar.of({"hours": [["08:00", "12:00"], ["11:00", "13:00"]]})
    round_trip = Calendar.of(DEFAULT.doc())
    assert round_trip == DEFAULT


calendars = st.builds(
    lambda hours, holidays, workdays: Calendar.of(
        {"hours": hours, "holidays": holidays, "workdays": workdays}
    ),
    st.sampled_from(
        [
            [["08:30", "12:00"], ["13:30", "17:30"]],
            [["09:00", "17:00"]],
            [["00:00", "23:59"]],
            [["07:00", "07:15"], ["19:45", "20:00"]],
        ]
    ),
    st.lists(st.dates(date(2026, 1, 1), date(2026, 12, 31)), max_size=40),
    st.lists(st.dates(date(2026, 1, 1), date(2026, 12, 31)), max_size=10),
)
starts = st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=0)
)


@settings(max_examples=300, deadline=None)
@given(calendars, starts, st.integers(min_value=0, max_value=120 * 3600))
def test_adding_then_measuring_gives_back_the_same_working_time(calendar, start, seconds):
    due = calendar.add(start, seconds)
    assert due >= start
    assert calendar.between(start, due) == seconds


@settings(max_examples=200, deadline=None)
@given(calendars, starts, st.integers(0, 40 * 3600), st.integers(0, 40 * 3600))
def test_more_working_time_is_never_earlier_and_adds_up(calendar, start, a, b):
    first = calendar.add(start, a)
    assert calendar.add(start, a + b) >= first
    # adding in two goes lands where adding at once does
    assert calendar.add(first, b) == calendar.add(start, a + b)


@settings(max_examples=200, deadline=None)
@given(calendars, starts, starts, starts)
def test_measuring_is_additive_and_never_exceeds_the_wall_clock(calendar, a, b, c):
    a, b, c = sorted((a, b, c))
    assert calendar.between(a, c) == calendar.between(a, b) + calendar.between(b, c)
    assert 0 <= calendar.between(a, c) <= (c - a).total_seconds()

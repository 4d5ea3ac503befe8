"""Business hours: a weekend, a holiday, both daylight-saving changes of 2026 in Berlin."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from policy.calendar import (
    Calendar,
    add_business_time,
    is_business_time,
    next_business_moment,
    parse_hours,
)
from policy.loader import PolicyError, parse_policy
from tests.policy.helpers import VALID

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = Calendar(
    timezone="Europe/Berlin",
    days=frozenset(range(5)),  # Monday to Friday
    opens=time(8),
    closes=time(18),
    holidays=frozenset({date(2026, 12, 25)}),
)
ALWAYS = Calendar("Europe/Berlin", frozenset(range(7)), time(0), None)  # every hour of every day


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def test_without_a_calendar_time_is_wall_time() -> None:
    start = datetime(2026, 3, 7, 23, 0, tzinfo=UTC)  # a Saturday night
    assert add_business_time(None, start, timedelta(hours=4)) == start + timedelta(hours=4)
    assert is_business_time(None, start)
    assert next_business_moment(None, start) == start


def test_within_a_day_business_time_is_wall_time() -> None:
    assert add_business_time(OFFICE, berlin(2026, 3, 2, 9), timedelta(hours=4)) == berlin(
        2026, 3, 2, 13
    )


def test_the_clock_stops_over_the_weekend() -> None:
    friday_4pm = berlin(2026, 3, 6, 16)
    assert add_business_time(OFFICE, friday_4pm, timedelta(hours=4)) == berlin(2026, 3, 9, 10)


def test_counting_starts_at_the_next_opening() -> None:
    saturday = berlin(2026, 3, 7, 11)
    assert add_business_time(OFFICE, saturday, timedelta(hours=1)) == berlin(2026, 3, 9, 9)
    early_monday = berlin(2026, 3, 9, 6, 30)
    assert add_business_time(OFFICE, early_monday, timedelta(minutes=30)) == berlin(
        2026, 3, 9, 8, 30
    )


def test_a_duration_used_up_at_closing_time_ends_at_closing_time() -> None:
    assert add_business_time(OFFICE, berlin(2026, 3, 2, 8), timedelta(hours=10)) == berlin(
        2026, 3, 2, 18
    )


def test_days_count_hours_of_business_time() -> None:
    # 1d is 24 business hours: two full 10-hour days and 4 hours of the third.
    assert add_business_time(OFFICE, berlin(2026, 3, 2, 8), timedelta(days=1)) == berlin(
        2026, 3, 4, 12
    )


def test_a_holiday_is_skipped() -> None:
    # Thursday 24 December at 17:00; Friday the 25th is a holiday, then the weekend.
    christmas_eve = berlin(2026, 12, 24, 17)
    assert add_business_time(OFFICE, christmas_eve, timedelta(hours=2)) == berlin(2026, 12, 28, 9)
    assert not is_business_time(OFFICE, berlin(2026, 12, 25, 10))
    assert next_business_moment(OFFICE, berlin(2026, 12, 25, 10)) == berlin(2026, 12, 28, 8)


def test_business_hours_are_local_across_the_spring_change() -> None:
    # Berlin moves from UTC+1 to UTC+2 on Sunday 29 March 2026: 08:00 is 07:00 UTC on the
    # Friday before and 06:00 UTC on the Monday after.
    friday_5pm = berlin(2026, 3, 27, 17)
    due = add_business_time(OFFICE, friday_5pm, timedelta(hours=2))
    assert due == berlin(2026, 3, 30, 9)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 7, tzinfo=UTC)
    assert next_business_moment(OFFICE, datetime(2026, 3, 30, 5, 30, tzinfo=UTC)) == datetime(
        2026, 3, 30, 6, tzinfo=UTC
    )


def test_business_hours_are_local_across_the_autumn_change() -> None:
    # Back from UTC+2 to UTC+1 on Sunday 25 October 2026.
    friday_5pm = berlin(2026, 10, 23, 17)
    due = add_business_time(OFFICE, friday_5pm, timedelta(hours=2))
    assert due == berlin(2026, 10, 26, 9)
    assert due.astimezone(UTC) == datetime(2026, 10, 26, 8, tzinfo=UTC)


def test_a_round_the_clock_calendar_counts_the_hours_the_clock_shows() -> None:
    # 29 March has 23 hours in Berlin, 25 October has 25: 24 hours of business time from
    # midnight end at 01:00 the next day in spring and at 23:00 the same day in autumn.
    spring = add_business_time(ALWAYS, berlin(2026, 3, 29, 0), timedelta(hours=24))
    assert spring == berlin(2026, 3, 30, 1)
    autumn = add_business_time(ALWAYS, berlin(2026, 10, 25, 0), timedelta(hours=24))
    assert autumn == berlin(2026, 10, 25, 23)
    assert is_business_time(ALWAYS, berlin(2026, 10, 25, 2, 30))


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (berlin(2026, 3, 2, 7, 59), False),
        (berlin(2026, 3, 2, 8, 0), True),
        (berlin(2026, 3, 2, 17, 59), True),
        (berlin(2026, 3, 2, 18, 0), False),
        (berlin(2026, 3, 7, 12, 0), False),  # Saturday
    ],
)
def test_is_business_time(moment: datetime, open_: bool) -> None:
    assert is_business_time(OFFICE, moment) is open_


def test_next_business_moment_after_hours_is_the_next_opening() -> None:
    assert next_business_moment(OFFICE, berlin(2026, 3, 6, 18, 30)) == berlin(2026, 3, 9, 8)
    inside = berlin(2026, 3, 6, 10, 15)
    assert next_business_moment(OFFICE, inside) == inside


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("8-18", "HH:MM-HH:MM"),
        ("08:00", "HH:MM-HH:MM"),
        ("18:00-08:00", "the end must come after the start"),
        ("08:00-25:00", "is not a time of day"),
        ("24:00-24:00", "cannot start at 24:00"),
    ],
)
def test_bad_hours(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_hours(text)


def test_hours_may_end_at_midnight() -> None:
    assert parse_hours("00:00-24:00") == (time(0), None)


# --- in the policy file --------------------------------------------------------------------

CALENDAR = """\
calendar:
  timezone: Europe/Berlin
  days: [mon, tue, wed, thu, fri]
  hours: "08:00-18:00"
  holidays: [2026-12-25, 2027-01-01]
"""


def test_the_policy_file_declares_a_calendar() -> None:
    policy = parse_policy(VALID + CALENDAR, "p.yaml")
    assert policy.calendar == Calendar(
        "Europe/Berlin",
        frozenset(range(5)),
        time(8),
        time(18),
        frozenset({date(2026, 12, 25), date(2027, 1, 1)}),
    )
    assert parse_policy(VALID, "p.yaml").calendar is None


def test_the_calendar_counts_in_the_version_and_its_absence_changes_nothing() -> None:
    plain = parse_policy(VALID, "p.yaml").version
    with_calendar = parse_policy(VALID + CALENDAR, "p.yaml").version
    reordered = CALENDAR.replace("[mon, tue, wed, thu, fri]", "[fri, thu, wed, tue, mon]")
    assert with_calendar != plain
    assert parse_policy(VALID + reordered, "p.yaml").version == with_calendar
    other_hours = CALENDAR.replace("08:00-18:00", "09:00-17:00")
    assert parse_policy(VALID + other_hours, "p.yaml").version != with_calendar


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        (
            "Europe/Berlin",
            "Europe/Berln",
            "calendar.timezone",
            "unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?)",
        ),
        ("[mon, tue, wed, thu, fri]", "[mon, monday]", "calendar.days", "should be 'mon'"),
        ("[mon, tue, wed, thu, fri]", "[mon, mon]", "calendar.days", "'mon' is listed twice"),
        ("[mon, tue, wed, thu, fri]", "[]", "calendar.days", "at least 1 item"),
        ('"08:00-18:00"', '"8 to 6"', "calendar.hours", "HH:MM-HH:MM"),
        ("2027-01-01", "2027-02-30", "calendar.holidays", "should be a valid date"),
        ("2027-01-01", "2026-12-25", "calendar.holidays", "2026-12-25 is listed twice"),
        ("  hours:", "  open:", "calendar", "unknown key 'open'"),
    ],
)
def test_bad_calendars_are_reported_with_their_line(
    old: str, new: str, where: str, message: str
) -> None:
    text = VALID + CALENDAR.replace(old, new)
    with pytest.raises(PolicyError) as error:
        parse_policy(text, "p.yaml")
    found = [p for p in error.value.problems if p.where == where and message in p.message]
    assert found, error.value.problems
    assert found[0].line is not None
    assert found[0].line > VALID.count("\n")


def test_escalation_needs_reminders() -> None:
    text = VALID.replace("    sla: 4h\n", "    sla: 4h\n    escalate_after: 2\n", 1)
    with pytest.raises(PolicyError) as error:
        parse_policy(text, "p.yaml")
    (problem,) = error.value.problems
    assert problem.where == "tiers[lead].escalate_after"
    assert "needs remind_every" in problem.message

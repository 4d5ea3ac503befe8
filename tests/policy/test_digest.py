"""The daily digest's pure rules: when a day's digest is due, what it lists and in which
order, and when a step's reminder is left out because the person got the digest."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from policy.digest import (
    CASE,
    REMEDIATION,
    DigestLine,
    digest_day,
    digest_lines,
    local_day,
    reminder_suppressed,
)
from policy.loader import load_policy
from policy.model import Digest, Policy

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(Path(__file__).parent.parent / "data" / "remediation.yaml")


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_the_digest_is_due_after_its_time_on_business_days(policy: Policy) -> None:
    digest, calendar = policy.digest, policy.calendar
    assert digest == Digest(time(9, 0))
    assert digest_day(digest, calendar, _at(2, 8, 59)) is None
    assert digest_day(digest, calendar, _at(2, 9, 0)) == _at(2, 0).date()
    assert digest_day(digest, calendar, _at(2, 23, 0)) == _at(2, 0).date()
    assert digest_day(digest, calendar, _at(4, 10)) is None  # the holiday
    assert digest_day(digest, calendar, _at(7, 10)) is None  # Saturday
    assert digest_day(None, calendar, _at(2, 10)) is None  # no digest in the policy


def test_the_calendar_s_time_zone_decides_the_day_and_the_hour(policy: Policy) -> None:
    assert policy.calendar is not None
    berlin = dataclasses.replace(policy.calendar, timezone="Europe/Berlin")
    digest = Digest(time(9, 0))
    assert digest_day(digest, berlin, _at(2, 7, 59)) is None  # 08:59 in Berlin
    assert digest_day(digest, berlin, _at(2, 8, 0)) == _at(2, 0).date()
    assert local_day(berlin, _at(2, 23, 30)) == _at(3, 0).date()
    assert digest_day(digest, None, _at(7, 9)) == _at(7, 0).date()  # no calendar: every day


def test_a_reminder_waits_on_a_digest_day_unless_the_step_falls_due(policy: Policy) -> None:
    calendar, now = policy.calendar, _at(2, 12)
    assert not reminder_suppressed(calendar, now, False, _at(3, 12))
    assert reminder_suppressed(calendar, now, True, _at(3, 12))
    assert reminder_suppressed(calendar, now, True, None)
    assert not reminder_suppressed(calendar, now, True, _at(2, 17))  # due today: it is news


def test_lines_are_oldest_first_and_round_trip() -> None:
    newer = DigestLine(CASE, 2, "EXC-000002", "B", MONDAY, MONDAY + timedelta(hours=4), False)
    older = DigestLine(REMEDIATION, 1, "REM-000001", "A", MONDAY - timedelta(days=1), None, True)
    assert digest_lines([newer, older]) == (older, newer)
    assert DigestLine.read(newer.to_json()) == newer
    assert DigestLine.read(older.to_json()) == older
    assert DigestLine.read({"kind": "case", "target": "x"}) is None
    assert DigestLine.read({**newer.to_json(), "since": "not a time"}) is None

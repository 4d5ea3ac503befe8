"""The daily digest: one message a day to each person with something waiting (pure).

With `digest: {at: "09:00"}` the digest of a day goes out once its time has passed, in the
calendar's time zone, on business days only (without a calendar: UTC, every day). It lists
what waits for the person, oldest first, with due times: the cases whose current step waits
for their decision and, for a code's owner, their open remediation items. Whoever got the
day's digest gets no separate step reminder that day, unless the step falls due that day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from policy.calendar import Calendar
from policy.model import Digest

CASE = "case"
REMEDIATION = "remediation"


def _zone(calendar: Calendar | None) -> ZoneInfo:
    return calendar.zone if calendar is not None else ZoneInfo("UTC")


def local_day(calendar: Calendar | None, now: datetime) -> date:
    """The date `now` falls on where the calendar is (UTC without one)."""
    return now.astimezone(_zone(calendar)).date()


def digest_day(digest: Digest | None, calendar: Calendar | None, now: datetime) -> date | None:
    """The day whose digest is due at `now`: today, if it is a business day and its digest
    time has passed; else None (no digest in the policy, a closed day, too early)."""
    if digest is None:
        return None
    local = now.astimezone(_zone(calendar))
    if calendar is not None and not calendar.is_business_day(local.date()):
        return None
    return local.date() if local.time().replace(tzinfo=None) >= digest.at else None


def reminder_suppressed(
    calendar: Calendar | None, now: datetime, got_digest_today: bool, due_at: datetime | None
) -> bool:
    """Is a step's reminder to someone left out at `now`? Yes if they got today's digest,
    unless the step falls due today (then the reminder is news)."""
    if not got_digest_today:
        return False
    return due_at is None or local_day(calendar, due_at) != local_day(calendar, now)


@dataclass(frozen=True, slots=True)
class DigestLine:
    """One thing waiting: a case's step (its id) or a remediation item (its id)."""

    kind: str  # CASE | REMEDIATION
    target: int
    ref: str
    title: str
    since: datetime  # waiting since: the step reached them, or the item opened
    due_at: datetime | None
    overdue: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "ref": self.ref,
            "title": self.title,
            "since": self.since.isoformat(),
            "due_at": None if self.due_at is None else self.due_at.isoformat(),
            "overdue": self.overdue,
        }

    @staticmethod
    def read(data: Any) -> DigestLine | None:
        """A stored line back, or None if it is not one we wrote."""
        if not isinstance(data, Mapping):
            return None
        kind, target, ref, title = (data.get(k) for k in ("kind", "target", "ref", "title"))
        if kind not in (CASE, REMEDIATION) or not isinstance(target, int):
            return None
        try:
            since = datetime.fromisoformat(str(data.get("since")))
            due = data.get("due_at")
            due_at = datetime.fromisoformat(due) if isinstance(due, str) else None
        except ValueError:
            return None
        return DigestLine(
            kind, target, str(ref), str(title), since, due_at, data.get("overdue") is True
        )


def digest_lines(lines: Iterable[DigestLine]) -> tuple[DigestLine, ...]:
    """Oldest first; ties by ref."""
    return tuple(sorted(lines, key=lambda line: (line.since.astimezone(UTC), line.ref)))

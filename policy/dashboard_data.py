"""What the dashboard shows beyond the KPI report (`policy.kpis`): the volume by code over
time, each approver's load and rubber-stamp rate, and the case search.

Pure: no I/O and no clock. Periods are UTC days, or weeks from Monday for a window longer
than WEEKLY_AFTER; a case belongs to the period its filing falls in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from policy.case_records import CaseRecord
from policy.kpi_approvals import Approval
from policy.kpi_report import Group
from policy.lifecycle import CaseStatus

WEEKLY_AFTER = timedelta(days=45)  # a longer window is counted by week: fewer, readable bars
MAX_WORDS = 10  # of a search; more words are a refusal, not a slow scan


@dataclass(frozen=True, slots=True)
class Volume:
    """Cases filed per period and code: `counts[code][i]` in the period starting `starts[i]`."""

    period: str  # "day" | "week"
    starts: tuple[date, ...]
    counts: Mapping[str, tuple[int, ...]]


def volume_over_time(cases: Iterable[CaseRecord], since: datetime, now: datetime) -> Volume:
    """The cases filed in [since, now], by code and day (by week for a long window)."""
    weekly = now - since > WEEKLY_AFTER
    step = 7 if weekly else 1
    first = since.date() - timedelta(days=since.weekday() if weekly else 0)
    periods = (now.date() - first).days // step + 1
    starts = tuple(first + timedelta(days=i * step) for i in range(periods))
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * periods)
    for case in cases:
        if since <= case.created_at <= now:
            counts[case.code][(case.created_at.date() - first).days // step] += 1
    return Volume(
        "week" if weekly else "day",
        starts,
        {code: tuple(counts[code]) for code in sorted(counts)},
    )


@dataclass(frozen=True, slots=True)
class ApproverLoad:
    person: str
    decisions: int  # votes cast (approve or reject), as `KpiReport.by_approver` counts them
    approvals: int
    stamped: int  # of those approvals, the rubber stamps (`Approval.stamped`)

    @property
    def stamp_rate(self) -> float | None:
        return self.stamped / self.approvals if self.approvals else None


def approver_loads(
    by_approver: Mapping[str, Group], approvals: Sequence[Approval], top: int
) -> list[ApproverLoad]:
    """The `top` approvers by decisions cast (ties by id), with their rubber-stamp counts."""
    given = Counter(a.person for a in approvals)
    stamped = Counter(a.person for a in approvals if a.stamped)
    ranked = sorted(by_approver.items(), key=lambda item: (-item[1].volume, item[0]))
    return [
        ApproverLoad(person, group.volume, given[person], stamped[person])
        for person, group in ranked[:top]
    ]


@dataclass(frozen=True, slots=True)
class Search:
    """A case search: every word must appear in the case's id, title, code, requester (id or
    name) or supplier (name or id), case aside; and the status, when one is given."""

    words: tuple[str, ...] = ()
    status: CaseStatus | None = None

    @classmethod
    def of(cls, text: str, status: CaseStatus | None = None) -> Search:
        return cls(tuple(word.casefold() for word in text.split()), status)

    def matches(self, case: CaseRecord, requester_name: str = "") -> bool:
        if self.status is not None and case.status is not self.status:
            return False
        if not self.words:
            return True
        text = _searchable(case, requester_name)
        return all(word in text for word in self.words)


def _searchable(case: CaseRecord, requester_name: str) -> str:
    supplier = case.request.get("supplier")
    names = [supplier.get("name"), supplier.get("id")] if isinstance(supplier, Mapping) else []
    parts = [case.ref, case.title, case.code, case.requester, requester_name, *names]
    return "\n".join(str(part) for part in parts if part).casefold()

"""The exception program's KPIs as a report: the figures `policy.kpis` computes, as JSON and
as CSV rows (the text and the chat summary are `policy.kpi_text`).

Pure: plain frozen data and its renderings. Durations are seconds; percentiles are
nearest-rank (see `policy.kpis.nearest_rank`); amounts are per currency, never added across.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from policy.remediation_effect import RemediationEffect

NONE = "(none)"  # the group of a case without a supplier, a cost center, a source, a currency
AGE_BUCKETS = ("<1d", "1-3d", "3-7d", ">7d")
FAST_SECONDS = 60  # an approval sooner than this after the card reached the approver
WINDOW_NOTE = (
    "open_by_age counts every case open now, whatever its filing date; every other figure "
    "counts the cases filed in the window"
)
CSV_HEADER = ("figure", "group", "value")

CsvRow = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Timing:
    """How many durations were measured, and their p50 and p90 in seconds (None: none)."""

    count: int
    p50_s: float | None
    p90_s: float | None


@dataclass(frozen=True, slots=True)
class Group:
    """One group of a breakdown: how many (cases filed, steps opened, decisions cast) and
    the timing of those that have a duration (cases and steps decided, votes whose card's
    arrival is known)."""

    volume: int
    timing: Timing

    def as_dict(self) -> dict[str, Any]:
        t = self.timing
        return {"volume": self.volume, "timed": t.count, "p50_s": t.p50_s, "p90_s": t.p90_s}


@dataclass(frozen=True, slots=True)
class OpenCase:
    ref: str
    filed_at: datetime
    age_s: float


@dataclass(frozen=True, slots=True)
class OpenAges:
    buckets: Mapping[str, int]  # AGE_BUCKETS -> open cases of that age
    oldest: OpenCase | None

    @property
    def total(self) -> int:
        return sum(self.buckets.values())


@dataclass(frozen=True, slots=True)
class Breaches:
    steps: int
    cases: int
    by_tier: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Leak:
    """What was approved through exceptions in one currency."""

    total: float
    cases: int
    by_code: Mapping[str, float]
    by_supplier: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class RubberStamps:
    approvals: int  # approvals by people: the figures below are counted among them
    fast: int  # less than FAST_SECONDS after the card reached the approver
    empty_rationale: int
    repeated_rationale: int  # the same text on approvals of two or more cases


@dataclass(frozen=True, slots=True)
class Drift:
    active_version: str
    decisions: int
    stale_decisions: int  # taken on a step of a version that is no longer active
    cases: int  # cases replayed under the active policy
    would_change: tuple[str, ...]  # of those, the ones it would route or decide differently


@dataclass(frozen=True, slots=True)
class KpiReport:
    since: datetime
    until: datetime
    person: str | None  # None: the whole program; else the person whose cases are counted
    volume: int
    cycle_time: Timing  # filing to final decision, cases routed to people
    by_code: Mapping[str, Group]
    by_tier: Mapping[str, Group]  # steps opened; timing: opened -> decided
    by_approver: Mapping[str, Group]  # decisions cast; timing: card reached them -> vote
    by_supplier: Mapping[str, Group]
    by_cost_center: Mapping[str, Group]
    by_source: Mapping[str, Group]
    open_by_age: OpenAges
    sla_breaches: Breaches
    escalated: int
    rerouted: int
    auto_decided: int
    info_requests: int
    revocations: int
    manager_decisions: int  # managers deciding an escalated step on an approver's behalf
    leakage: Mapping[str, Leak]  # by currency
    rubber_stamps: RubberStamps
    drift: Drift
    # Closed remediation items: their code's frequency before and after (`handlers.reports`).
    remediation: tuple[RemediationEffect, ...] = ()

    @property
    def auto_decided_share(self) -> float | None:
        return round(self.auto_decided / self.volume, 4) if self.volume else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": {
                "since": self.since.isoformat(),
                "until": self.until.isoformat(),
                "person": self.person,
                "note": WINDOW_NOTE,
                "percentiles": "nearest-rank",
            },
            "volume": self.volume,
            "cycle_time": {
                "cases": self.cycle_time.count,
                "p50_s": self.cycle_time.p50_s,
                "p90_s": self.cycle_time.p90_s,
            },
            **{name: _groups(groups) for name, groups in self.breakdowns().items()},
            "open_by_age": {
                **self.open_by_age.buckets,
                "total": self.open_by_age.total,
                "oldest": _oldest_dict(self.open_by_age.oldest),
            },
            "sla_breaches": {
                "steps": self.sla_breaches.steps,
                "cases": self.sla_breaches.cases,
                "by_tier": dict(self.sla_breaches.by_tier),
            },
            "escalations": {"escalated": self.escalated, "rerouted": self.rerouted},
            "auto_decided": self.auto_decided,
            "auto_decided_share": self.auto_decided_share,
            "info_requests": self.info_requests,
            "revocations": self.revocations,
            "manager_decisions": self.manager_decisions,
            "leakage": {
                currency: {
                    "total": round(leak.total, 2),
                    "cases": leak.cases,
                    "by_code": _amounts(leak.by_code),
                    "by_supplier": _amounts(leak.by_supplier),
                }
                for currency, leak in self.leakage.items()
            },
            "rubber_stamps": {
                "approvals": self.rubber_stamps.approvals,
                "under_60s": self.rubber_stamps.fast,
                "empty_rationale": self.rubber_stamps.empty_rationale,
                "repeated_rationale": self.rubber_stamps.repeated_rationale,
            },
            "drift": {
                "active_version": self.drift.active_version,
                "decisions": self.drift.decisions,
                "stale_decisions": self.drift.stale_decisions,
                "cases": self.drift.cases,
                "would_change": list(self.drift.would_change),
            },
            "remediation": {effect.ref: effect.as_dict() for effect in self.remediation},
        }

    def breakdowns(self) -> dict[str, Mapping[str, Group]]:
        return {
            "by_code": self.by_code,
            "by_tier": self.by_tier,
            "by_approver": self.by_approver,
            "by_supplier": self.by_supplier,
            "by_cost_center": self.by_cost_center,
            "by_source": self.by_source,
        }

    def csv_rows(self) -> list[CsvRow]:
        """(figure, group, value): one row per figure, the group naming a breakdown's member
        (a code, a tier, a person, ...); every figure of `as_dict`, flattened."""
        return _csv_rows(self.as_dict())


def _oldest_dict(oldest: OpenCase | None) -> dict[str, Any] | None:
    if oldest is None:
        return None
    return {"id": oldest.ref, "filed_at": oldest.filed_at.isoformat(), "age_s": oldest.age_s}


def _groups(groups: Mapping[str, Group]) -> dict[str, Any]:
    return {name: group.as_dict() for name, group in groups.items()}


def _amounts(amounts: Mapping[str, float]) -> dict[str, float]:
    return {name: round(amount, 2) for name, amount in amounts.items()}


# Under these figures the keys are names (codes, tiers, people, currencies): they go to the
# CSV's group column, not into the figure's name.
_NAMED = frozenset(
    {
        "by_code",
        "by_tier",
        "by_approver",
        "by_supplier",
        "by_cost_center",
        "by_source",
        "sla_breaches.by_tier",
        "leakage",
        "leakage.by_code",
        "leakage.by_supplier",
        "remediation",
    }
)


def _csv_rows(
    data: Mapping[str, Any], path: str = "", group: str = "", names: bool = False
) -> list[CsvRow]:
    """`names`: the keys of `data` are names, which join the group; the figure stays."""
    rows: list[CsvRow] = []
    for key, value in data.items():
        figure = path if names else f"{path}.{key}" if path else key
        member = f"{group} {key}".strip() if names else group
        if isinstance(value, Mapping):
            rows += _csv_rows(value, figure, member, not names and figure in _NAMED)
        else:
            rows.append((figure, member, _cell(value)))
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)

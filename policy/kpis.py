"""The exception program's KPIs, computed from the cases and their audit events.

Pure: no I/O and no clock; the caller passes the cases (`CaseSnapshot`: the case with its
steps and votes, and its audit events in chain order), the window and `now`, the active
policy and the stored text of every policy version. What counts:

- the window is the cases filed in [since, now]; open-by-age alone counts every case open
  now (`storage.kpi_reads` hands those over too), aged `now - filed`, in the half-open
  buckets [0, 1d), [1d, 3d), [3d, 7d), [7d, ...);
- percentiles are nearest-rank: the smallest value with at least p% of the values at or
  below it (`nearest_rank`), so each is a duration that was actually measured;
- cycle time: filing to the final decision (the last case.approved or case.rejected; a
  revoked case keeps its decision) of cases routed to people; a case decided by policy has
  none. Per tier: a step's opening to its closing, for steps approved or rejected;
- an SLA breach: a step that closed after its due time, is open at or past it, or timed out
  (a reroute starts a fresh due time, so the timeout is what remembers the breach); a case
  pending at or past its own due time, or ended after it;
- the card reached an approver at the latest of the step's opening for them, or the event
  that gave them the step (step.reassigned and step.rerouted `to`, step.escalated
  `managers`), at or before their vote; for a delegate, when it reached the one they stood
  in for. An approval sooner than FAST_SECONDS after that is a rubber stamp, as is one with
  an empty rationale, or one whose rationale (whitespace and case aside) is also on an
  approval of another case;
- leakage: the amounts of the cases approved (by people or by policy), per currency;
- drift: votes on steps of a version other than the active one, and cases the active
  policy would now route or decide differently than the version that decided them
  (`policy.backtest`, replayed as the backtest does).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from policy.backtest import Change, Evaluator, PastCase, compare, the_version_that_decided
from policy.case import Case
from policy.case_records import CaseRecord, StepRecord
from policy.kpi_approvals import CaseSnapshot, approvals_by_people, by_a_person, response_seconds
from policy.kpi_report import (
    AGE_BUCKETS,
    NONE,
    Breaches,
    Drift,
    Group,
    KpiReport,
    Leak,
    OpenAges,
    OpenCase,
    RubberStamps,
    Timing,
)
from policy.lifecycle import AuditKind, CaseStatus, StepStatus
from policy.model import Outcome, Policy

_DAY = timedelta(days=1)
_AGE_LIMITS = (_DAY, 3 * _DAY, 7 * _DAY)  # the upper bounds of AGE_BUCKETS but the last
_DECIDED_CASE = (CaseStatus.APPROVED, CaseStatus.REJECTED, CaseStatus.REVOKED)
_DECIDED_STEP = (StepStatus.APPROVED, StepStatus.REJECTED)
_CASE_DECISIONS = (AuditKind.CASE_APPROVED, AuditKind.CASE_REJECTED)
_VOTES = (AuditKind.DECISION_APPROVED, AuditKind.DECISION_REJECTED)
_AUTO = (Outcome.APPROVE.value, Outcome.REJECT.value)
_CHANGES = frozenset({"outcome", "route"})  # what drift asks about (flags are not a decision)


def nearest_rank(values: Sequence[float], percent: int) -> float | None:
    """The nearest-rank percentile: the value at rank ceil(percent/100 * n) of the sorted
    values (rank 1 at least); None for no values."""
    if not values:
        return None
    rank = max(-(-percent * len(values) // 100), 1)
    return sorted(values)[rank - 1]


def _timing(seconds: Sequence[float]) -> Timing:
    return Timing(len(seconds), nearest_rank(seconds, 50), nearest_rank(seconds, 90))


def compute(
    snapshots: Iterable[CaseSnapshot],
    *,
    since: datetime,
    now: datetime,
    active: Policy,
    versions: Mapping[str, str],
    person: str | None = None,
) -> KpiReport:
    """The KPIs of the cases filed in [since, now] (open-by-age: of every open case given).

    `versions`: version hash -> stored YAML, to replay each case under the version that
    decided it; `person`: whose cases these are, when not the whole program's."""
    given = list(snapshots)
    window = [s for s in given if since <= s.case.record.created_at <= now]
    decided = {s.case.id: _decided_at(s) for s in window}
    cycle = {
        s.case.id: (at - s.case.record.created_at).total_seconds()
        for s in window
        if (at := decided[s.case.id]) is not None
    }
    return KpiReport(
        since=since,
        until=now,
        person=person,
        volume=len(window),
        cycle_time=_timing(list(cycle.values())),
        by_code=_by_case(window, cycle, lambda r: r.code),
        by_tier=_by_tier(window),
        by_approver=_by_approver(window),
        by_supplier=_by_case(window, cycle, lambda r: _supplier(r.request)),
        by_cost_center=_by_case(window, cycle, lambda r: _or_none(r.request.get("cost_center"))),
        by_source=_by_case(window, cycle, lambda r: r.source or NONE),
        open_by_age=_open_by_age([s.case for s in given], now),
        sla_breaches=_breaches(window, decided, now),
        escalated=sum(s.count(AuditKind.STEP_ESCALATED) for s in window),
        rerouted=sum(s.count(AuditKind.STEP_REROUTED) for s in window),
        auto_decided=sum(1 for s in window if s.case.record.outcome in _AUTO),
        info_requests=sum(s.count(AuditKind.INFO_REQUESTED) for s in window),
        revocations=sum(s.count(AuditKind.CASE_REVOKED) for s in window),
        manager_decisions=sum(_manager_decisions(s) for s in window),
        leakage=_leakage(window),
        rubber_stamps=_rubber_stamps(window),
        drift=_drift(window, active, versions),
    )


def _supplier(request: Mapping[str, Any]) -> str:
    """The supplier's name, else its id, from the stored request."""
    supplier = request.get("supplier")
    if not isinstance(supplier, Mapping):
        return NONE
    return _or_none(supplier.get("name")) if supplier.get("name") else _or_none(supplier.get("id"))


def _or_none(value: Any) -> str:
    return str(value) if value not in (None, "") else NONE


def _decided_at(snap: CaseSnapshot) -> datetime | None:
    """When a case routed to people got its final decision."""
    record = snap.case.record
    if record.outcome in _AUTO or record.status not in _DECIDED_CASE:
        return None
    moments = [e.at for e in snap.events if e.action in _CASE_DECISIONS]
    return moments[-1] if moments else None


def _grouped(pairs: Iterable[tuple[str, float | None]]) -> dict[str, Group]:
    """(name, seconds or None) -> one Group per name, names in order."""
    volume: dict[str, int] = defaultdict(int)
    seconds: dict[str, list[float]] = defaultdict(list)
    for name, value in pairs:
        volume[name] += 1
        if value is not None:
            seconds[name].append(value)
    return {name: Group(volume[name], _timing(seconds[name])) for name in sorted(volume)}


def _by_case(
    window: Sequence[CaseSnapshot], cycle: Mapping[int, float], key: Callable[[CaseRecord], str]
) -> dict[str, Group]:
    return _grouped((key(s.case.record), cycle.get(s.case.id)) for s in window)


def _step_seconds(step: StepRecord) -> float | None:
    if step.status not in _DECIDED_STEP or step.opened_at is None or step.closed_at is None:
        return None
    return (step.closed_at - step.opened_at).total_seconds()


def _by_tier(window: Sequence[CaseSnapshot]) -> dict[str, Group]:
    return _grouped(
        (step.tier, _step_seconds(step))
        for s in window
        for step in s.case.steps
        if step.opened_at is not None
    )


def _by_approver(window: Sequence[CaseSnapshot]) -> dict[str, Group]:
    return _grouped(
        (vote.person, response_seconds(s, vote))
        for s in window
        for vote in s.case.votes
        if by_a_person(vote)
    )


def _age_bucket(age: timedelta) -> str:
    for bucket, limit in zip(AGE_BUCKETS, _AGE_LIMITS, strict=False):
        if age < limit:
            return bucket
    return AGE_BUCKETS[-1]


def _open_by_age(given: Sequence[Case], now: datetime) -> OpenAges:
    pending = [c for c in given if c.status is CaseStatus.PENDING]
    buckets = dict.fromkeys(AGE_BUCKETS, 0)
    for case in pending:
        buckets[_age_bucket(now - case.record.created_at)] += 1
    if not pending:
        return OpenAges(buckets, None)
    oldest = min(pending, key=lambda c: (c.record.created_at, c.id))
    filed = oldest.record.created_at
    return OpenAges(buckets, OpenCase(oldest.ref, filed, (now - filed).total_seconds()))


def _step_breached(snap: CaseSnapshot, step: StepRecord, now: datetime) -> bool:
    if step.opened_at is None:
        return False
    timed_out = any(
        e.action == AuditKind.STEP_TIMED_OUT and e.step_id == step.id for e in snap.events
    )
    due, closed = step.due_at, step.closed_at
    if timed_out or due is None:
        return timed_out
    if closed is not None:
        return closed > due
    return step.status is StepStatus.OPEN and now >= due


def _case_breached(snap: CaseSnapshot, decided: datetime | None, now: datetime) -> bool:
    record = snap.case.record
    if record.due_at is None:
        return False
    ended = decided or record.closed_at
    return snap.case.is_overdue(now) or (ended is not None and ended > record.due_at)


def _breaches(
    window: Sequence[CaseSnapshot], decided: Mapping[int, datetime | None], now: datetime
) -> Breaches:
    by_tier: dict[str, int] = defaultdict(int)
    for s in window:
        for step in s.case.steps:
            if _step_breached(s, step, now):
                by_tier[step.tier] += 1
    cases = sum(1 for s in window if _case_breached(s, decided[s.case.id], now))
    return Breaches(sum(by_tier.values()), cases, dict(sorted(by_tier.items())))


def _manager_decisions(snap: CaseSnapshot) -> int:
    as_manager = {
        (e.step_id, e.actor) for e in snap.events if e.action in _VOTES and e.data.as_manager
    }
    return sum(
        1
        for v in snap.case.votes
        if v.on_behalf_of is not None and (v.step_id, v.person) in as_manager
    )


def _leakage(window: Sequence[CaseSnapshot]) -> dict[str, Leak]:
    approved = [
        s.case.record
        for s in window
        if s.case.status is CaseStatus.APPROVED and s.case.record.amount is not None
    ]
    leaks: dict[str, Leak] = {}
    for currency in sorted({r.currency or NONE for r in approved}):
        mine = [r for r in approved if (r.currency or NONE) == currency]
        leaks[currency] = Leak(
            total=sum(r.amount or 0.0 for r in mine),
            cases=len(mine),
            by_code=_sums((r.code, r.amount or 0.0) for r in mine),
            by_supplier=_sums((_supplier(r.request), r.amount or 0.0) for r in mine),
        )
    return leaks


def _sums(pairs: Iterable[tuple[str, float]]) -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    for name, amount in pairs:
        sums[name] += amount
    return dict(sorted(sums.items()))


def _rubber_stamps(window: Sequence[CaseSnapshot]) -> RubberStamps:
    approvals = approvals_by_people(window)
    return RubberStamps(
        approvals=len(approvals),
        fast=sum(1 for a in approvals if a.fast),
        empty_rationale=sum(1 for a in approvals if a.empty_rationale),
        repeated_rationale=sum(1 for a in approvals if a.repeated_rationale),
    )


def _drift(window: Sequence[CaseSnapshot], active: Policy, versions: Mapping[str, str]) -> Drift:
    votes = [(s, vote) for s in window for vote in s.case.votes]
    stale = sum(
        1
        for s, vote in votes
        if (step := s.case.step(vote.step_id)) is not None and step.policy_version != active.version
    )
    policy_for = the_version_that_decided(versions, active)
    evaluator = Evaluator()
    changed = []
    for s in window:
        record = s.case.record
        past = PastCase(record.ref, record.request, record.created_at, record.policy_version)
        before, after = compare(past, policy_for(past), active, evaluator)
        if _CHANGES & set(Change(past.id, before, after).aspects) and before != after:
            changed.append(record.ref)
    return Drift(active.version, len(votes), stale, len(window), tuple(changed))

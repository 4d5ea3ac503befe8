"""What the KPIs read of a case (`CaseSnapshot`: the case with its audit events), and the
approvals people gave: when the card reached them, and which approvals are rubber stamps.

Pure: no I/O and no clock. `policy.kpis` counts these for the whole window; the dashboard
(`policy.dashboard_data`) counts them per approver, from the same `approvals_by_people`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from policy.actor import Actor
from policy.audit_data import AuditData
from policy.case import Case
from policy.case_records import DecisionRecord
from policy.kpi_report import FAST_SECONDS
from policy.lifecycle import Action, AuditKind


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One audit event of a case, as the KPIs read it."""

    action: str  # an AuditKind's value
    actor: str
    at: datetime
    data: AuditData
    step_id: int | None = None


@dataclass(frozen=True, slots=True)
class CaseSnapshot:
    case: Case
    events: tuple[CaseEvent, ...] = ()  # chain order

    def count(self, kind: AuditKind) -> int:
        return sum(1 for e in self.events if e.action == kind)


@dataclass(frozen=True, slots=True)
class Approval:
    """An approval by a person, and what makes it a rubber stamp (any of the three)."""

    person: str
    case_id: int
    fast: bool  # sooner than FAST_SECONDS after the card reached them
    empty_rationale: bool
    repeated_rationale: bool  # the same text is on an approval of another case

    @property
    def stamped(self) -> bool:
        return self.fast or self.empty_rationale or self.repeated_rationale


def by_a_person(vote: DecisionRecord) -> bool:
    return Actor(vote.person, vote.platform).is_person


def _given_to(event: CaseEvent) -> tuple[str, ...]:
    """Who an event put a step in front of."""
    data = event.data
    match event.action:
        case AuditKind.STEP_OPENED:
            return data.approvers or ()
        case AuditKind.STEP_REASSIGNED | AuditKind.STEP_REROUTED:
            return data.to or ()
        case AuditKind.STEP_ESCALATED:
            return data.managers or ()
    return ()


def _reached_at(snap: CaseSnapshot, vote: DecisionRecord) -> datetime | None:
    """When the card of the vote's step last reached the voter (a delegate: the one they
    stood in for) at or before the vote; None when the events do not say."""
    for who in (vote.person, vote.on_behalf_of):
        moments = [
            e.at
            for e in snap.events
            if e.step_id == vote.step_id and e.at <= vote.at and who in _given_to(e)
        ]
        if moments:
            return max(moments)
    return None


def response_seconds(snap: CaseSnapshot, vote: DecisionRecord) -> float | None:
    reached = _reached_at(snap, vote)
    return None if reached is None else (vote.at - reached).total_seconds()


def _normalized(rationale: str | None) -> str:
    return " ".join((rationale or "").split()).casefold()


def approvals_by_people(window: Sequence[CaseSnapshot]) -> list[Approval]:
    """Every approval by a person on the cases of `window`, in case then vote order."""
    approvals = [
        (s, vote)
        for s in window
        for vote in s.case.votes
        if vote.action is Action.APPROVE and by_a_person(vote)
    ]
    cases_of: dict[str, set[int]] = defaultdict(set)
    for _, vote in approvals:
        if text := _normalized(vote.rationale):
            cases_of[text].add(vote.case_id)
    found = []
    for s, vote in approvals:
        seconds = response_seconds(s, vote)
        text = _normalized(vote.rationale)
        found.append(
            Approval(
                person=vote.person,
                case_id=vote.case_id,
                fast=seconds is not None and seconds < FAST_SECONDS,
                empty_rationale=not text,
                repeated_rationale=len(cases_of.get(text, ())) > 1,
            )
        )
    return found

"""Sentences shown to people when their press cannot take effect, and how times read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from handlers.people import name_of
from policy.model import Policy
from storage.records import Action, CaseRecord, CaseStatus, DecisionRecord, StepRecord


def at_text(at: datetime) -> str:
    """A moment as messages show it: 2026-03-02 13:00 UTC."""
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _when(decision: DecisionRecord) -> str:
    return at_text(decision.at)


def _last_decision(
    votes: Sequence[DecisionRecord], step_id: int | None = None
) -> DecisionRecord | None:
    decisive = [
        v
        for v in votes
        if v.action in (Action.APPROVE, Action.REJECT) and (step_id is None or v.step_id == step_id)
    ]
    return decisive[-1] if decisive else None


def already_final(policy: Policy, case: CaseRecord, votes: Sequence[DecisionRecord]) -> str:
    last = _last_decision(votes)
    status = case.status.value
    if last is not None and case.status in (CaseStatus.APPROVED, CaseStatus.REJECTED):
        verb = "approved" if last.action is Action.APPROVE else "rejected"
        return (
            f"{case.ref} is already {status}: {name_of(policy, last.person)} {verb} it "
            f"at {_when(last)}."
        )
    return f"{case.ref} is already {status}; nothing more can be decided on it."


def stale_step(
    policy: Policy, step_id: int, steps: Sequence[StepRecord], votes: Sequence[DecisionRecord]
) -> str:
    step = next((s for s in steps if s.id == step_id), None)
    current = next((s for s in steps if s.status.value == "open"), None)
    now_with = f" It is now with {current.tier}." if current else ""
    last = _last_decision(votes, step_id)
    if step is None or last is None:
        return f"That card is out of date.{now_with}"
    verb = "approved" if last.action is Action.APPROVE else "rejected"
    return (
        f"The {step.tier} step was already {verb} by {name_of(policy, last.person)} "
        f"at {_when(last)}.{now_with}"
    )

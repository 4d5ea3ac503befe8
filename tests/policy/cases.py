"""Building pure cases for model tests: a case, its steps and votes, without a database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from policy.case import Case
from policy.case_records import CaseRecord, DecisionRecord, StepRecord
from policy.lifecycle import Action, CaseStatus, StepStatus

FILED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning


def record(requester: str = "rita", **changes: object) -> CaseRecord:
    base = CaseRecord(
        id=1,
        status=CaseStatus.PENDING,
        code="OFF_CONTRACT",
        title="Laptops",
        requester=requester,
        amount=1200.0,
        currency="EUR",
        request={"code": "OFF_CONTRACT", "title": "Laptops", "requester": requester},
        outcome="route",
        rules=[],
        skipped_rules=[],
        flags=[],
        rationale_required=False,
        policy_version="v1",
        source=None,
        external_id=None,
        request_hash="0" * 64,
        created_at=FILED,
        updated_at=FILED,
        closed_at=None,
        version=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def step(
    position: int,
    approvers: Sequence[str],
    *,
    tier: str | None = None,
    status: StepStatus = StepStatus.OPEN,
    mode: str = "any",
    required: int = 1,
    **changes: object,
) -> StepRecord:
    opened = FILED if status is not StepStatus.WAITING else None
    base = StepRecord(
        id=position,
        case_id=1,
        position=position,
        tier=tier or f"tier-{position}",
        mode=mode,
        required=required,
        approvers=tuple(approvers),
        status=status,
        opened_at=opened,
        due_at=opened + timedelta(hours=4) if opened else None,
        closed_at=None,
        policy_version="v1",
        version=1,
        clock_started_at=opened,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def vote(
    step_id: int,
    person: str,
    action: Action = Action.APPROVE,
    *,
    on_behalf_of: str | None = None,
    rationale: str | None = None,
    vote_id: int = 1,
) -> DecisionRecord:
    return DecisionRecord(
        id=vote_id,
        case_id=1,
        step_id=step_id,
        person=person,
        on_behalf_of=on_behalf_of,
        action=action,
        rationale=rationale,
        platform="console",
        at=FILED + timedelta(minutes=10),
    )


def case(
    *steps: StepRecord,
    votes: Sequence[DecisionRecord] = (),
    requester: str = "rita",
    **changes: object,
) -> Case:
    return Case(record(requester, **changes), tuple(steps), tuple(votes))

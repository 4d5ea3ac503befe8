"""How a case moves after a vote: the step closes when enough approvals arrive, the next tier
opens with approvers re-resolved (excluding everyone who already decided), or the case ends.

Every write here is compare-and-set; `Advance.applied` is False if any of them lost a race,
and the caller rolls the whole transaction back and tries again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.context import Services
from handlers.people import name_of, names_of
from policy.model import Policy, Role
from policy.overdue import opening_schedule
from policy.routing import NoEligibleApprover, route_step
from storage import absences, cases
from storage.audit import AuditEvent
from storage.outbox import MessageKind, OutgoingMessage
from storage.records import (
    Action,
    CaseRecord,
    CaseStatus,
    DecisionRecord,
    StepRecord,
    StepStatus,
)

WORKFLOW_ACTOR = "system:workflow"


@dataclass(slots=True)
class Advance:
    applied: bool = True
    events: list[AuditEvent] = field(default_factory=list)
    messages: list[OutgoingMessage] = field(default_factory=list)
    next_tier: str | None = None
    progress: str = ""


def deciders(votes: Sequence[DecisionRecord], exclude_step: int | None = None) -> frozenset[str]:
    """Everyone who approved or rejected a step of the case, and those they acted for."""
    people: set[str] = set()
    for vote in votes:
        if vote.step_id == exclude_step or vote.action not in (Action.APPROVE, Action.REJECT):
            continue
        people.add(vote.person)
        if vote.on_behalf_of:
            people.add(vote.on_behalf_of)
    return frozenset(people)


async def close_case(
    conn: AsyncConnection,
    case: CaseRecord,
    steps: Sequence[StepRecord],
    status: CaseStatus,
    now: datetime,
) -> bool:
    """End the case: unfinished steps are cancelled. False if a compare-and-set lost."""
    for step in steps:
        if step.status in (StepStatus.OPEN, StepStatus.WAITING) and not await cases.update_step(
            conn, step, status=StepStatus.CANCELLED.value, closed_at=now
        ):
            return False
    return await cases.update_case(conn, case, status=status.value, closed_at=now, updated_at=now)


async def advance_after_vote(
    svc: Services,
    conn: AsyncConnection,
    case: CaseRecord,
    steps: Sequence[StepRecord],
    votes: Sequence[DecisionRecord],
    step: StepRecord,
    actor: str,
    action: Action,
    now: datetime,
) -> Advance:
    if action is Action.REJECT:
        return await _reject(svc, conn, case, steps, step, actor, now)
    approvals = 1 + sum(1 for v in votes if v.step_id == step.id and v.action is Action.APPROVE)
    if approvals < step.required:
        # Bump the versions even though nothing else changes: a concurrent vote must notice.
        applied = await cases.update_step(conn, step) and await cases.update_case(
            conn, case, updated_at=now
        )
        return Advance(
            applied=applied,
            messages=[OutgoingMessage(MessageKind.UPDATE_CARDS, case_id=case.id)],
            progress=f"{approvals} of {step.required} approvals for {step.tier} are in.",
        )
    return await _approve_step(svc, conn, case, steps, votes, step, actor, now)


async def settle_step(
    svc: Services,
    conn: AsyncConnection,
    case: CaseRecord,
    steps: Sequence[StepRecord],
    votes: Sequence[DecisionRecord],
    step: StepRecord,
    actor: str,
    action: Action,
    now: datetime,
    note: str = "",
) -> Advance:
    """Close `step` as approved or rejected however many votes it has (a decision by policy,
    such as `on_timeout: approve`), then open the next step or end the case. `note` is added
    to what the requester is told when the case ends."""
    if action is Action.REJECT:
        return await _reject(svc, conn, case, steps, step, actor, now, note)
    return await _approve_step(svc, conn, case, steps, votes, step, actor, now, note)


async def _approve_step(
    svc: Services,
    conn: AsyncConnection,
    case: CaseRecord,
    steps: Sequence[StepRecord],
    votes: Sequence[DecisionRecord],
    step: StepRecord,
    actor: str,
    now: datetime,
    note: str = "",
) -> Advance:
    if not await cases.update_step(conn, step, status=StepStatus.APPROVED.value, closed_at=now):
        return Advance(applied=False)
    later = [s for s in steps if s.status is StepStatus.WAITING]
    if later:
        return await _open_next(svc, conn, case, votes, step, later[0], actor, now)
    advance = Advance(
        applied=await cases.update_case(
            conn, case, status=CaseStatus.APPROVED.value, closed_at=now, updated_at=now
        )
    )
    advance.events.append(_closed(case, CaseStatus.APPROVED, step))
    advance.messages += [
        OutgoingMessage(MessageKind.UPDATE_CARDS, case_id=case.id),
        OutgoingMessage(
            MessageKind.NOTIFY,
            case_id=case.id,
            recipient=case.requester,
            text=_with_note(
                f"{case.ref} ({case.title}) was approved. Final approval by "
                f"{name_of(svc.policy, actor)}.",
                note,
            ),
        ),
    ]
    return advance


def _with_note(text: str, note: str) -> str:
    return f"{text} {note}" if note else text


def _closed(case: CaseRecord, status: CaseStatus, step: StepRecord) -> AuditEvent:
    return AuditEvent(
        actor=WORKFLOW_ACTOR,
        action=f"case.{status.value}",
        case_ref=case.ref,
        step_id=step.id,
        policy_version=step.policy_version,
        data={"tier": step.tier},
    )


async def _reject(
    svc: Services,
    conn: AsyncConnection,
    case: CaseRecord,
    steps: Sequence[StepRecord],
    step: StepRecord,
    actor: str,
    now: datetime,
    note: str = "",
) -> Advance:
    # The rejecting step is closed as rejected; close_case cancels the ones after it.
    if not await cases.update_step(conn, step, status=StepStatus.REJECTED.value, closed_at=now):
        return Advance(applied=False)
    rest = [s for s in steps if s.id != step.id]
    applied = await close_case(conn, case, rest, CaseStatus.REJECTED, now)
    return Advance(
        applied=applied,
        events=[_closed(case, CaseStatus.REJECTED, step)],
        messages=[
            OutgoingMessage(MessageKind.UPDATE_CARDS, case_id=case.id),
            OutgoingMessage(
                MessageKind.NOTIFY,
                case_id=case.id,
                recipient=case.requester,
                text=_with_note(
                    f"{case.ref} ({case.title}) was rejected by {name_of(svc.policy, actor)}.",
                    note,
                ),
            ),
        ],
    )


def _fallback_approvers(policy: Policy, requester: str, exclude: frozenset[str]) -> tuple[str, ...]:
    """When a tier has nobody left who may approve, the policy's admins take it."""
    return tuple(
        p.id
        for p in policy.people.values()
        if p.has_role(Role.ADMIN) and p.id != requester and p.id not in exclude
    )


async def _open_next(
    svc: Services,
    conn: AsyncConnection,
    case: CaseRecord,
    votes: Sequence[DecisionRecord],
    closed: StepRecord,
    step: StepRecord,
    actor: str,
    now: datetime,
) -> Advance:
    policy = svc.policy
    exclude = deciders(votes) | {actor}
    away = await absences.away_now(conn, now)
    fallback = False
    tier = next((t for t in policy.tiers if t.id == step.tier), None)
    try:
        if tier is None:
            raise KeyError(step.tier)
        routed = route_step(tier, policy, case.requester, exclude, away)
        approvers, required = routed.approvers, routed.required
    except (KeyError, NoEligibleApprover):
        fallback = True
        approvers = _fallback_approvers(policy, case.requester, exclude)
        required = 1
    # The step runs on its tier's clock (also when admins stand in for a tier left empty).
    schedule = None if tier is None else opening_schedule(tier, policy.calendar, now)
    applied = await cases.update_step(
        conn,
        step,
        status=StepStatus.OPEN.value,
        opened_at=now,
        due_at=None if schedule is None else schedule.due_at,
        next_action_at=None if schedule is None else schedule.next_action_at,
        required=required,
        policy_version=policy.version,
    ) and await cases.update_case(conn, case, updated_at=now)
    await cases.replace_assignments(conn, step, approvers)
    opened = AuditEvent(
        actor=WORKFLOW_ACTOR,
        action="step.opened",
        case_ref=case.ref,
        step_id=step.id,
        policy_version=policy.version,
        data={"tier": step.tier, "approvers": list(approvers), "fallback_to_admins": fallback},
    )
    return Advance(
        applied=applied,
        events=[
            AuditEvent(
                actor=WORKFLOW_ACTOR,
                action="step.approved",
                case_ref=case.ref,
                step_id=closed.id,
                policy_version=closed.policy_version,
                data={"tier": closed.tier},
            ),
            opened,
        ],
        messages=[
            OutgoingMessage(MessageKind.UPDATE_CARDS, case_id=case.id),
            *[
                OutgoingMessage(MessageKind.POST_CARD, case_id=case.id, recipient=person)
                for person in approvers
            ],
        ],
        next_tier=f"{step.tier} ({names_of(policy, approvers)})",
    )

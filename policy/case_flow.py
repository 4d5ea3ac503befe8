"""How a case moves: votes close steps, the next tier opens staffed, the case ends (pure).

A step closes when enough approvals arrive (one rejection rejects the case); the next tier
opens with its approvers resolved again, leaving out everyone who already decided a step
(`policy.routing.staff_tier`), or the case is approved. Who may vote, and whether they must
say why, is `Case.may_act`; these functions take its permission as given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from policy.actor import SCHEDULER, WORKFLOW, Actor
from policy.audit_data import AuditData
from policy.calendar import add_business_time
from policy.case import Case, Permission
from policy.case_draft import Change, Draft
from policy.case_records import StepRecord
from policy.lifecycle import CASE_ENDING, VOTE_KIND, Action, AuditKind, CaseStatus, StepStatus
from policy.model import ApprovalMode, Policy, Tier
from policy.names import admins, name_of, names_of
from policy.overdue import Schedule, opening_schedule
from policy.routing import NOBODY_AWAY, Staffing, staff_tier


def tier_of(policy: Policy, step: StepRecord) -> Tier:
    """The step's tier; a tier the policy no longer has is decided by anyone `any` at a day's
    SLA, staffed like a short tier (the requester's managers, then the admins)."""
    for tier in policy.tiers:
        if tier.id == step.tier:
            return tier
    sla = (step.due_at - step.opened_at) if step.due_at and step.opened_at else timedelta(days=1)
    return Tier(step.tier, (), ApprovalMode.any(), max(sla, timedelta(minutes=1)))


def case_due_at(policy: Policy, code: str, filed: datetime) -> datetime | None:
    """The case's own due time: its taxonomy code's `sla` after filing, in business time."""
    entry = policy.taxonomy.get(code)
    if entry is None or entry.sla is None:
        return None
    return add_business_time(policy.calendar, filed, entry.sla)


@dataclass(frozen=True, slots=True)
class Opening:
    """How a step opens: who it goes to, how many approvals close it, and its clock."""

    staffing: Staffing
    schedule: Schedule


def plan_opening(
    policy: Policy,
    tier: Tier,
    requester: str,
    barred: frozenset[str],
    now: datetime,
    away: Mapping[str, str] = NOBODY_AWAY,
) -> Opening:
    staffing = staff_tier(tier, policy, requester, barred, away)
    return Opening(staffing, opening_schedule(tier, policy.calendar, now))


def announce_opening(draft: Draft, step: StepRecord, opening: Opening, opener: Actor) -> None:
    """The events and messages of a step that opened: its card to each approver, and when
    it is short of people or has nobody, the requester and the admins are told at once."""
    staffing, policy, case = opening.staffing, draft.policy, draft.record
    draft.event(
        opener,
        AuditKind.STEP_OPENED,
        step,
        data=AuditData(
            approvers=staffing.approvers, required=staffing.required, wanted=staffing.wanted
        ),
    )
    draft.cards(staffing.approvers)
    what = f"{case.ref} ({case.title})"
    if staffing.unstaffed:
        text = (
            f"{what} reached {step.tier}, but nobody may decide it (everyone on the tier, its "
            "backup, the requester's managers and the admins filed or decided this case). "
            f"An admin must reassign it: /approvals reassign {case.ref} @person reason."
        )
        draft.event(WORKFLOW, AuditKind.STEP_UNSTAFFED, step, rationale=text)
        draft.notify([case.requester, *admins(policy)], text)
    elif staffing.short:
        people = names_of(policy, staffing.approvers)
        text = (
            f"{what}: {step.tier} asks for {staffing.wanted} approvals but only "
            f"{_people_count(len(staffing.approvers))} may decide it ({people}), "
            f"so it needs {staffing.required}."
        )
        draft.event(
            WORKFLOW,
            AuditKind.STEP_SHORT_STAFFED,
            step,
            rationale=text,
            data=AuditData(wanted=staffing.wanted, required=staffing.required),
        )
        draft.notify(admins(policy), text)


def _people_count(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


def open_step(
    draft: Draft, step: StepRecord, opener: Actor, away: Mapping[str, str] = NOBODY_AWAY
) -> StepRecord:
    policy, now = draft.policy, draft.now
    case = draft.case
    opening = plan_opening(
        policy, tier_of(policy, step), case.requester, case.deciders(), now, away
    )
    opened = draft.set_step(
        step,
        status=StepStatus.OPEN,
        approvers=opening.staffing.approvers,
        required=opening.staffing.required,
        opened_at=now,
        clock_started_at=now,
        due_at=opening.schedule.due_at,
        next_action_at=opening.schedule.next_action_at,
        policy_version=policy.version,
    )
    announce_opening(draft, opened, opening, opener)
    return opened


def end_case(draft: Draft, status: CaseStatus) -> None:
    """Close the case; steps not decided are cancelled (expired, for an expired case)."""
    for step in draft.steps:
        if step.status.is_current or step.status is StepStatus.WAITING:
            ended = (
                StepStatus.EXPIRED
                if status is CaseStatus.EXPIRED and step.status.is_current
                else StepStatus.CANCELLED
            )
            draft.set_step(step, status=ended, closed_at=draft.now, next_action_at=None)
    draft.set_case(status=status, closed_at=draft.now)


def _by(policy: Policy, person: str, rationale: str | None) -> str:
    """`by Lee Park: use the framework supplier`, for outcome messages (no full stop)."""
    who = name_of(policy, person)
    return f"by {who}: {rationale.rstrip('.')}" if rationale else f"by {who}"


def _approve_step(
    draft: Draft,
    step: StepRecord,
    decider: str,
    rationale: str | None,
    away: Mapping[str, str],
) -> str:
    """Close `step` as approved, then open the next tier or approve the case. Returns what
    happened next, for the person who acted."""
    policy = draft.policy
    closed = draft.set_step(
        step, status=StepStatus.APPROVED, closed_at=draft.now, next_action_at=None
    )
    draft.update_cards()
    later = [s for s in draft.steps if s.status is StepStatus.WAITING]
    if later:
        draft.event(WORKFLOW, AuditKind.STEP_APPROVED, closed)
        opened = open_step(draft, later[0], WORKFLOW, away)
        return (
            f"It moves on to {opened.tier} ({names_of(policy, opened.approvers) or 'nobody yet'})."
        )
    end_case(draft, CaseStatus.APPROVED)
    draft.event(WORKFLOW, CASE_ENDING[CaseStatus.APPROVED], closed, rationale=rationale)
    case = draft.record
    draft.notify(
        [case.requester],
        f"{case.ref} ({case.title}) was approved. "
        f"Final approval {_by(policy, decider, rationale)}.",
    )
    return "The case is now approved."


def _reject_step(draft: Draft, step: StepRecord, decider: str, rationale: str | None) -> None:
    policy = draft.policy
    rejected = draft.set_step(
        step, status=StepStatus.REJECTED, closed_at=draft.now, next_action_at=None
    )
    end_case(draft, CaseStatus.REJECTED)
    draft.event(WORKFLOW, CASE_ENDING[CaseStatus.REJECTED], rejected, rationale=rationale)
    draft.update_cards()
    case = draft.record
    draft.notify(
        [case.requester],
        f"{case.ref} ({case.title}) was rejected {_by(policy, decider, rationale)}.",
    )


def cast_vote(
    policy: Policy,
    case: Case,
    actor: Actor,
    action: Action,
    rationale: str | None,
    permission: Permission,
    now: datetime,
    away: Mapping[str, str] = NOBODY_AWAY,
) -> Change:
    """Record `actor`'s approval or rejection of the current step (which `permission`, from
    `case.may_act`, allowed) and move the case on."""
    step = case.current_step
    assert step is not None
    assert permission.allowed
    assert action in VOTE_KIND
    draft = Draft(case, policy, now)
    draft.add_vote(step, actor, action, rationale, permission.on_behalf_of)
    draft.event(
        actor,
        VOTE_KIND[action],
        step,
        rationale=rationale,
        data=AuditData(
            on_behalf_of=permission.on_behalf_of,
            # A manager stepping in on an escalated step, rather than a delegate.
            as_manager=True if permission.as_manager else None,
            case_hash=case.record.request_hash,  # binds the vote to what was voted on
        ),
    )
    verb = "approved" if action is Action.APPROVE else "rejected"
    if action is Action.REJECT:
        _reject_step(draft, step, actor.id, rationale)
        return draft.finish(f"You {verb} {case.ref}. The case is now rejected.")
    voted = draft.case
    if voted.approvals(step) < step.required:
        draft.update_cards()
        progress = voted.awaiting_text(policy, voted.step(step.id) or step)
        return draft.finish(f"You {verb} {case.ref}. {step.tier} is {progress}.")
    then = _approve_step(draft, step, actor.id, rationale, away)
    return draft.finish(f"You {verb} {case.ref}. {then}")


def settle_by_policy(
    policy: Policy,
    case: Case,
    step: StepRecord,
    action: Action,
    reason: str,
    now: datetime,
    away: Mapping[str, str] = NOBODY_AWAY,
) -> Change:
    """Close `step` as approved or rejected however many votes it has (`on_timeout: approve`
    or `reject`): a decision by policy, recorded as the scheduler's."""
    draft = Draft(case, policy, now)
    draft.add_vote(step, SCHEDULER, action, reason)
    timed_out = AuditData(on_timeout=action.value)
    draft.event(SCHEDULER, AuditKind.STEP_TIMED_OUT, step, rationale=reason, data=timed_out)
    vote = AuditData(on_timeout=action.value, case_hash=case.record.request_hash)
    draft.event(SCHEDULER, VOTE_KIND[action], step, rationale=reason, data=vote)
    if action is Action.REJECT:
        _reject_step(draft, step, SCHEDULER.id, reason)
        return draft.finish()
    then = _approve_step(draft, step, SCHEDULER.id, reason, away)
    if draft.record.status is CaseStatus.PENDING:
        draft.notify([case.requester], f"{case.what}: {reason} {then}")
    return draft.finish()

"""The changes to a case that are not votes (pure): asking and answering questions,
comments, withdrawal, revocation, handing a step on, and refusals for the record.

Each takes the permission the caller got from `Case` as given, and returns a `Change`.
"""

from __future__ import annotations

from datetime import datetime

from policy.actor import Actor
from policy.audit_data import AuditData
from policy.case import Case
from policy.case_draft import Change, Draft
from policy.case_flow import end_case, tier_of
from policy.case_records import StepRecord
from policy.lifecycle import CASE_ENDING, Action, AuditKind, CaseStatus, StepStatus
from policy.model import Policy
from policy.names import name_of
from policy.overdue import opening_schedule


def refusal(
    policy: Policy,
    case: Case,
    actor: Actor,
    kind: AuditKind,
    reason: str,
    now: datetime,
    *,
    attempted: Action | None = None,
    rationale: str | None = None,
) -> Change:
    """A refused attempt, for the audit log: the case itself does not change."""
    assert kind.is_refusal
    draft = Draft(case, policy, now)
    step = case.current_step if kind is AuditKind.DECISION_REFUSED else None
    data = AuditData(reason=reason, attempted=attempted.value if attempted else None)
    draft.event(actor, kind, step, rationale=rationale, data=data)
    return Change(case, tuple(draft.events), (), reason, refused=True)


def request_info(policy: Policy, case: Case, actor: Actor, question: str, now: datetime) -> Change:
    """Pause the current step until the requester answers: its SLA clock and reminders
    stop, the requester is asked (with the command to answer), every card shows it."""
    step = case.current_step
    assert step is not None
    draft = Draft(case, policy, now)
    paused = draft.set_step(step, status=StepStatus.INFO_REQUESTED, next_action_at=None)
    draft.event(actor, AuditKind.INFO_REQUESTED, paused, rationale=question)
    asker = name_of(policy, actor.id)
    draft.notify(
        [case.requester],
        f"{asker} needs more information on {case.what}: {question}\n"
        f"The {step.tier} step waits for your answer. Reply with "
        f"/exception answer {case.ref} your answer (or press Answer on the card).",
    )
    draft.cards([case.requester])
    draft.update_cards()
    requester = name_of(policy, case.requester)
    return draft.finish(
        f"Asked {requester} for more information; {step.tier} waits for the answer."
    )


def answer(policy: Policy, case: Case, actor: Actor, text: str, now: datetime) -> Change:
    """The requester's answer reopens the paused step with a fresh SLA clock."""
    step = case.current_step
    assert step is not None
    assert step.status is StepStatus.INFO_REQUESTED
    draft = Draft(case, policy, now)
    schedule = opening_schedule(tier_of(policy, step), policy.calendar, now)
    reopened = draft.set_step(
        step,
        status=StepStatus.OPEN,
        due_at=schedule.due_at,
        next_action_at=schedule.next_action_at,
        clock_started_at=now,
        reminders_sent=0,
        escalated_at=None,
    )
    draft.event(actor, AuditKind.INFO_ANSWERED, reopened, rationale=text)
    awaited = draft.case.awaited(reopened)
    draft.notify(
        awaited,
        f"{name_of(policy, actor.id)} answered on {case.what}: {text}\n"
        f"The {step.tier} step is open again for your decision.",
    )
    draft.update_cards()
    return draft.finish(f"Thanks: your answer went to the approvers of {step.tier}.")


def comment(
    policy: Policy, case: Case, actor: Actor, text: str, now: datetime, author: str | None = None
) -> Change:
    """A note on the case. The requester's notes reach the current step's awaited
    approvers; anyone else's reach the requester. A comment never reopens a paused step.
    `author` names who wrote a source system's note there (it is not a person of ours)."""
    draft = Draft(case, policy, now)
    draft.event(actor, AuditKind.COMMENTED, rationale=text, data=AuditData(author=author))
    step = case.current_step
    if actor.id == case.requester:
        recipients = case.awaited(step) if step is not None else ()
    else:
        recipients = (case.requester,)
    draft.update_cards()
    who = name_of(policy, actor.id)
    who = f"{author} ({who})" if author else who
    draft.notify(recipients, f"{who} commented on {case.ref}: {text}")
    return Change(case, tuple(draft.events), tuple(draft.messages), f"Comment added to {case.ref}.")


def end_by_person(
    policy: Policy,
    case: Case,
    actor: Actor,
    status: CaseStatus,
    reason: str | None,
    now: datetime,
) -> Change:
    """Withdraw a pending case (its requester) or revoke a decided one (an admin)."""
    assert status in (CaseStatus.WITHDRAWN, CaseStatus.REVOKED)
    draft = Draft(case, policy, now)
    step = case.current_step
    end_case(draft, status)
    previous = AuditData(previous_status=case.status.value)
    draft.event(actor, CASE_ENDING[status], rationale=reason, data=previous)
    draft.update_cards()
    if actor.id != case.requester:
        why = f": {reason}" if reason else "."
        told = f"{case.ref} was {status.value} by {name_of(policy, actor.id)}{why}"
        draft.notify([case.requester], told)
        if status is CaseStatus.WITHDRAWN and step is not None:  # the source cancelled it
            draft.notify(case.awaited(step), f"{told} It no longer needs your decision.")
    return draft.finish(f"{case.ref} is now {status.value}.")


def hand_over(
    policy: Policy,
    case: Case,
    actor: Actor,
    step: StepRecord,
    from_person: str,
    to_person: str,
    reason: str,
    now: datetime,
) -> Change:
    """`from_person`'s place on `step` goes to `to_person` (who gets the card, once)."""
    draft = Draft(case, policy, now)
    approvers = tuple(to_person if p == from_person else p for p in step.approvers)
    if from_person not in step.approvers:
        approvers = (*step.approvers, to_person)
    handed = draft.set_step(step, approvers=approvers)
    draft.event(
        actor,
        AuditKind.STEP_REASSIGNED,
        handed,
        rationale=reason,
        data=AuditData(from_=(from_person,), to=(to_person,)),
    )
    note = (
        f"{case.what}: {name_of(policy, from_person)}'s {step.tier} step is now with "
        f"{name_of(policy, to_person)}. {reason}."
    )
    draft.cards([to_person])
    draft.notify(
        [to_person],
        f"{case.what} is yours to decide now, in place of {name_of(policy, from_person)} "
        f"({step.tier}). {reason}.",
    )
    draft.update_cards()
    if case.requester != actor.id:
        draft.notify([case.requester], note)
    if from_person != actor.id:  # an admin moved someone else's place: they hear why
        draft.notify(
            [from_person],
            f"{name_of(policy, actor.id)} moved your {step.tier} step of {case.what} to "
            f"{name_of(policy, to_person)}. {reason}.",
        )
    return draft.finish(f"{case.ref} ({step.tier}) is now with {name_of(policy, to_person)}.")

"""What an overdue step does when the sweep wakes it (pure): remind, escalate, time out.

`policy.overdue` says what is due; this makes it happen to the case:
- a reminder to the approvers still awaited;
- after `escalate_after` reminders, an escalation: their managers get the card and a DM, and
  may decide on their behalf with a rationale (`Case.may_act`);
- at the SLA, `on_timeout`: `escalate` reroutes the step (the tier's backup, then one level up
  the manager chain each further SLA, then the admins), never to someone who had it and let it
  time out, nor back to who has it now; `approve` or `reject` decides by policy; `expire` ends
  the case.
The requester hears of every escalation, reroute and timeout; every card of the case is
updated, since each shows the escalation history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from policy.actor import SCHEDULER
from policy.audit_data import AuditData
from policy.case import Case
from policy.case_draft import Change, Draft
from policy.case_flow import end_case, settle_by_policy, tier_of
from policy.case_records import StepRecord
from policy.digest import reminder_suppressed
from policy.durations import format_duration
from policy.lifecycle import Action, AuditKind, CaseStatus
from policy.model import OnTimeout, Policy, Tier
from policy.names import admins, at_text, names_of
from policy.overdue import (
    Due,
    after_waiting,
    next_action,
    opening_schedule,
    tick_after,
    what_is_due,
)
from policy.routing import NOBODY_AWAY, reroute_targets


def overdue(
    policy: Policy,
    case: Case,
    step: StepRecord,
    now: datetime,
    away: Mapping[str, str] = NOBODY_AWAY,
    digested: frozenset[str] = frozenset(),
) -> Change:
    """Do what is due for `step` (current, its `next_action_at` passed) at `now`.
    `digested`: who got today's digest, whose reminder is left out (`policy.digest`)."""
    tier = tier_of(policy, step)
    due = what_is_due(
        tier,
        policy.calendar,
        now,
        due_at=step.due_at,
        reminders_sent=step.reminders_sent,
        escalated=step.escalated,
    )
    draft = Draft(case, policy, now)
    match due:
        case Due.TIMEOUT:
            return _timeout(draft, step, tier, away)
        case Due.ESCALATE:
            _escalate(draft, step, tier)
        case Due.REMIND:
            _remind(draft, step, tier, digested=digested)
        case Due.WAIT:
            draft.set_step(step, next_action_at=after_waiting(policy.calendar, now, step.due_at))
        case Due.NOTHING:
            draft.set_step(step, next_action_at=None)
    return draft.finish()


def _next_wake(draft: Draft, step: StepRecord, tier: Tier) -> datetime | None:
    start = step.clock_start or draft.now
    return next_action(step.due_at, tick_after(tier, draft.policy.calendar, start, draft.now))


def _remind(
    draft: Draft,
    step: StepRecord,
    tier: Tier,
    note: str | None = None,
    digested: frozenset[str] = frozenset(),
) -> None:
    case = draft.case
    calendar, now = draft.policy.calendar, draft.now
    awaited = tuple(
        p
        for p in case.awaited(step)
        if not reminder_suppressed(calendar, now, p in digested, step.due_at)
    )
    skipped = [p for p in case.awaited(step) if p not in awaited]
    had = f"{names_of(draft.policy, skipped)} had today's digest" if skipped else None
    number = step.reminders_sent + 1
    due = f", due {at_text(step.due_at)}" if step.due_at is not None else ""
    draft.set_step(
        step,
        reminders_sent=number,
        next_action_at=_next_wake(draft, step, tier),
        **({"escalated_at": draft.now} if note else {}),
    )
    said = "; ".join(text for text in (note, had) if text) or None
    reminded = AuditData(approvers=awaited, reminder=number, note=said)
    draft.event(SCHEDULER, AuditKind.STEP_REMINDED, step, data=reminded)
    draft.notify(
        awaited,
        f"Reminder: {case.what} is waiting for your decision at {step.tier}{due}. "
        "Type /approvals to see it.",
    )
    draft.update_cards()


def _escalate(draft: Draft, step: StepRecord, tier: Tier) -> None:
    policy, case = draft.policy, draft.case
    managers = case.escalation_managers(policy, step)
    if not managers:  # nobody above them may decide this case: keep reminding them
        _remind(draft, step, tier, note="no manager above them may decide it")
        return
    awaited = case.awaited(step)
    waiting = names_of(policy, awaited)
    has = "has" if len(awaited) == 1 else "have"
    count = step.reminders_sent
    after = f" after {count} reminder{'s' if count != 1 else ''}" if count else ""
    to = names_of(policy, managers)
    draft.set_step(step, escalated_at=draft.now, next_action_at=_next_wake(draft, step, tier))
    draft.event(
        SCHEDULER,
        AuditKind.STEP_ESCALATED,
        step,
        data=AuditData(approvers=awaited, managers=managers, after_reminders=count),
    )
    draft.cards(managers)
    draft.notify(
        managers,
        f"{case.what} is overdue: {waiting} ({step.tier}) {has} not decided{after}. "
        "As their manager you may decide it on their behalf; a rationale is required.",
    )
    draft.notify(awaited, f"{case.what} is overdue, so it was escalated to {to}.")
    draft.notify([case.requester], f"{case.what} is overdue at {step.tier}: sent to {to}.")
    draft.update_cards()


def sla_text(policy: Policy, tier: Tier) -> str:
    business = " of business time" if policy.calendar is not None else ""
    return f"the {format_duration(tier.sla)} SLA{business} of {tier.id}"


def _timeout(draft: Draft, step: StepRecord, tier: Tier, away: Mapping[str, str]) -> Change:
    policy, case = draft.policy, draft.case
    match tier.on_timeout:
        case OnTimeout.ESCALATE:
            _reroute(draft, step, tier, away)
            return draft.finish()
        case OnTimeout.APPROVE | OnTimeout.REJECT as decision:
            action = Action.APPROVE if decision is OnTimeout.APPROVE else Action.REJECT
            verb = "approves" if action is Action.APPROVE else "rejects"
            reason = f"No decision within {sla_text(policy, tier)}: the policy {verb} on timeout."
            return settle_by_policy(policy, case, step, action, reason, draft.now, away)
        case OnTimeout.EXPIRE:
            reason = f"No decision within {sla_text(policy, tier)}: the policy lets it expire."
            end_case(draft, CaseStatus.EXPIRED)
            expired = AuditData(on_timeout=OnTimeout.EXPIRE.value)
            draft.event(SCHEDULER, AuditKind.STEP_TIMED_OUT, step, rationale=reason, data=expired)
            draft.event(SCHEDULER, AuditKind.CASE_EXPIRED, step, rationale=reason)
            draft.update_cards()
            draft.notify([case.requester], f"{case.what} expired. {reason}")
            return draft.finish()


def _reroute(draft: Draft, step: StepRecord, tier: Tier, away: Mapping[str, str]) -> None:
    """The step goes to the next people up; those who had it are never given it again."""
    policy, case, now = draft.policy, draft.case, draft.now
    level = step.timeout_level + 1
    awaited = case.awaited(step)
    approvals = case.approvals(step)
    needed = max(case.still_needed(step), 1)
    targets = reroute_targets(
        policy,
        tier,
        requester=case.requester,
        current=step.approvers,
        level=level,
        barred=case.barred(step) | set(awaited),
        needed=needed,
        away=away,
    )
    schedule = opening_schedule(tier, policy.calendar, now)
    sla, before = sla_text(policy, tier), names_of(policy, awaited or step.approvers)
    why = f"{before} did not decide within {sla}."
    if not targets:
        _nobody_further(draft, step, tier, level, schedule.due_at)
        return
    # What the step needs is kept; only a reroute that finds fewer people lowers it, and
    # then says so (the event's `required`, and the admins are told).
    required = approvals + min(needed, len(targets))
    former = tuple(dict.fromkeys((*step.former_approvers, *awaited)))
    draft.set_step(
        step,
        approvers=targets,
        required=required,
        due_at=schedule.due_at,
        next_action_at=schedule.next_action_at,
        clock_started_at=now,
        reminders_sent=0,
        escalated_at=None,
        timeout_level=level,
        former_approvers=former,
    )
    draft.event(
        SCHEDULER,
        AuditKind.STEP_REROUTED,
        step,
        rationale=why,
        data=AuditData(from_=step.approvers, to=targets, level=level, required=required),
    )
    to = names_of(policy, targets)
    draft.cards(targets)
    draft.notify(targets, f"{case.what} was rerouted to you: {why}")
    draft.notify(awaited, f"{case.what} was rerouted to {to}; you need not decide it now.")
    draft.notify([case.requester], f"{case.what} was rerouted to {to}: {why}")
    if required < step.required:
        short = (
            f"{case.what}: {step.tier} needed {step.required} approvals, but only "
            f"{len(targets)} more people may decide it ({to}), so it now needs {required}."
        )
        lowered = AuditData(required=required)
        draft.event(SCHEDULER, AuditKind.STEP_SHORT_STAFFED, step, rationale=short, data=lowered)
        draft.notify(admins(policy), short)
    draft.update_cards()


def _nobody_further(
    draft: Draft, step: StepRecord, tier: Tier, level: int, due_at: datetime
) -> None:
    """A reroute found nobody: the step stays where it is, and the SLA clock starts again."""
    policy, case, now = draft.policy, draft.case, draft.now
    stays = names_of(policy, step.approvers) or "nobody"
    text = (
        f"{case.what} is overdue at {step.tier} and nobody further up may decide it; "
        f"it stays with {stays}."
    )
    barred = case.barred(step)
    draft.set_step(
        step,
        due_at=due_at,
        clock_started_at=now,
        next_action_at=next_action(due_at, tick_after(tier, policy.calendar, now, now)),
        timeout_level=level,
    )
    draft.event(
        SCHEDULER,
        AuditKind.STEP_TIMED_OUT,
        step,
        rationale=text,
        data=AuditData(on_timeout=OnTimeout.ESCALATE.value, level=level, rerouted=False),
    )
    draft.notify([case.requester, *(a for a in admins(policy) if a not in barred)], text)
    draft.update_cards()

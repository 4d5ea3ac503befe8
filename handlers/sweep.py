"""The overdue sweep: reminders, escalation to managers and timeouts, per the tier's plan.

`sweep` claims the open steps whose `next_action_at` has passed (`storage.overdue`: a lease,
so replicas never work on one step at once and a crashed sweeper's claims are taken over),
then handles each in a transaction of its own: it checks that the claim is still its own,
does what `policy.overdue` says is due, writes the audit events and outbox messages, and
sets the step's next `next_action_at` as it releases the claim. So each reminder is sent once
however many sweepers run, and a restart never repeats one.

What is due (see `policy.overdue` for the timing):
- a reminder to the approvers who have not acted;
- after `escalate_after` reminders, an escalation: their managers get the card and a DM,
  and may decide on their behalf with a rationale (`policy.sod.may_decide`);
- at the SLA, `on_timeout`: `escalate` reroutes the step (`policy.routing.reroute_targets`:
  the tier's backup, then one level up the manager chain each further SLA), `approve` or
  `reject` decides by policy, `expire` ends the case.
The requester is told of every escalation, reroute and timeout; every card of the case is
updated, since each shows the escalation history.
"""

from __future__ import annotations

import enum
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.context import Services
from handlers.people import names_of
from handlers.progress import close_case, deciders, settle_step
from handlers.texts import at_text
from policy.durations import format_duration
from policy.model import ApprovalMode, OnTimeout, Role, Tier
from policy.overdue import Due, after_waiting, next_action, next_tick, opening_schedule, what_is_due
from policy.routing import escalation_managers, reroute_targets
from storage import absences, audit, cases, outbox, overdue
from storage.audit import AuditEvent
from storage.outbox import MessageKind, OutgoingMessage
from storage.overdue import ClaimedStep
from storage.records import Action, CaseRecord, CaseStatus, DecisionRecord, StepRecord, StepStatus

log = logging.getLogger(__name__)

SCHEDULER_ACTOR = "system:scheduler"
DEFAULT_LEASE = timedelta(minutes=2)  # far longer than handling a batch takes
DEFAULT_LIMIT = 100
_DECIDED = {Action.APPROVE: "approved", Action.REJECT: "rejected"}


class Outcome(enum.StrEnum):
    REMINDED = "reminded"
    ESCALATED = "escalated"
    REROUTED = "rerouted"
    TIMED_OUT = "timed_out"  # decided or expired by policy, or nobody left to reroute to
    WAITED = "waited"  # outside business hours: put off to the next opening
    SKIPPED = "skipped"  # no longer open, no longer due, or the claim was lost
    FAILED = "failed"  # an unexpected error, logged; the claim runs out and it is retried


@dataclass(frozen=True, slots=True)
class SweepReport:
    claimed: int = 0
    outcomes: dict[Outcome, int] = field(default_factory=dict)

    def count(self, outcome: Outcome) -> int:
        return self.outcomes.get(outcome, 0)


async def sweep(
    svc: Services,
    owner: str,
    lease: timedelta = DEFAULT_LEASE,
    limit: int = DEFAULT_LIMIT,
) -> SweepReport:
    """Claim up to `limit` due steps for `owner` and handle each; say what was done."""
    async with svc.db.transaction() as conn:
        claimed = await overdue.claim_due_steps(conn, svc.clock.now(), owner, lease, limit)
    outcomes: Counter[Outcome] = Counter()
    for item in claimed:
        try:
            outcomes[await process_claim(svc, owner, item)] += 1
        except Exception:
            log.exception("overdue sweep: step %s of case %s failed", item.step_id, item.case_id)
            outcomes[Outcome.FAILED] += 1
    return SweepReport(len(claimed), dict(outcomes))


class _Changed(Exception):
    """The step changed under us (a compare-and-set lost); the transaction rolls back."""


@dataclass(frozen=True, slots=True)
class _Due:
    """A claimed step and what its case says about it."""

    case: CaseRecord
    steps: list[StepRecord]
    votes: list[DecisionRecord]
    step: StepRecord
    tier: Tier
    pending: tuple[str, ...]  # approvers who have not voted on the step
    barred: frozenset[str]  # may not decide it: requester, voters here, deciders elsewhere
    away: dict[str, str]

    @property
    def ref(self) -> str:
        return self.case.ref

    @property
    def what(self) -> str:
        return f"{self.case.ref} ({self.case.title})"

    def event(self, action: str, rationale: str | None = None, **data: Any) -> AuditEvent:
        return AuditEvent(
            actor=SCHEDULER_ACTOR,
            action=action,
            case_ref=self.case.ref,
            step_id=self.step.id,
            rationale=rationale,
            policy_version=self.step.policy_version,
            platform="system",
            data={"tier": self.step.tier, **data},
        )

    def notify(self, people: Sequence[str], text: str) -> list[OutgoingMessage]:
        return [
            OutgoingMessage(MessageKind.NOTIFY, case_id=self.case.id, recipient=p, text=text)
            for p in dict.fromkeys(people)
        ]

    def cards(self, people: Sequence[str]) -> list[OutgoingMessage]:
        return [
            OutgoingMessage(MessageKind.POST_CARD, case_id=self.case.id, recipient=p)
            for p in dict.fromkeys(people)
        ]

    @property
    def update_cards(self) -> OutgoingMessage:
        return OutgoingMessage(MessageKind.UPDATE_CARDS, case_id=self.case.id)


async def process_claim(svc: Services, owner: str, claimed: ClaimedStep) -> Outcome:
    """Handle one claimed step in a transaction of its own, if `owner` still holds the claim.

    A sweeper that stalled past its lease finds its claim taken over and does nothing.
    """
    now = svc.clock.now()
    try:
        async with svc.db.transaction() as conn:
            if not await overdue.holds_claim(conn, claimed.step_id, owner, now):
                return Outcome.SKIPPED  # the lease ran out and another sweeper took it over
            due = await _load(svc, conn, claimed, now)
            if due is None:
                await overdue.release(conn, claimed.step_id, owner)
                return Outcome.SKIPPED
            return await _act(svc, conn, due, now)
    except _Changed:
        return Outcome.SKIPPED


async def _load(
    svc: Services, conn: AsyncConnection, claimed: ClaimedStep, now: datetime
) -> _Due | None:
    case = await cases.get_case(conn, claimed.case_id)
    steps = await cases.steps_for_case(conn, claimed.case_id)
    step = next((s for s in steps if s.id == claimed.step_id), None)
    if case is None or case.status.is_final or step is None or step.status is not StepStatus.OPEN:
        return None
    if step.next_action_at is None or step.next_action_at > now:
        return None  # someone moved its clock since it was claimed
    votes = await cases.decisions_for_case(conn, case.id)
    voted = frozenset(
        p for v in votes if v.step_id == step.id for p in (v.person, v.on_behalf_of) if p
    )
    return _Due(
        case=case,
        steps=steps,
        votes=votes,
        step=step,
        tier=_tier(svc, step),
        pending=tuple(a for a in step.approvers if a not in voted),
        barred=deciders(votes, exclude_step=step.id) | voted | {case.requester},
        away=await absences.away_now(conn, now),
    )


def _tier(svc: Services, step: StepRecord) -> Tier:
    """The step's tier; if the policy no longer has it, escalate up the chain at its SLA."""
    for tier in svc.policy.tiers:
        if tier.id == step.tier:
            return tier
    sla = (step.due_at - step.opened_at) if step.due_at and step.opened_at else timedelta(days=1)
    return Tier(step.tier, (), ApprovalMode.any(), max(sla, timedelta(minutes=1)))


async def _act(svc: Services, conn: AsyncConnection, due: _Due, now: datetime) -> Outcome:
    calendar = svc.policy.calendar
    step = due.step
    match what_is_due(
        due.tier,
        calendar,
        now,
        due_at=step.due_at,
        reminders_sent=step.reminders_sent,
        escalated=step.escalated,
    ):
        case Due.TIMEOUT:
            return await _timeout(svc, conn, due, now)
        case Due.ESCALATE:
            return await _escalate(svc, conn, due, now)
        case Due.REMIND:
            return await _remind(svc, conn, due, now)
        case Due.WAIT:
            await _update(conn, step, next_action_at=after_waiting(calendar, now, step.due_at))
            return Outcome.WAITED
        case Due.NOTHING:
            await _update(conn, step, next_action_at=None)
            return Outcome.SKIPPED


async def _update(conn: AsyncConnection, step: StepRecord, **values: Any) -> None:
    """Compare-and-set the step, releasing the claim in the same write."""
    if not await cases.update_step(conn, step, claimed_until=None, claimed_by=None, **values):
        raise _Changed


async def _write(
    conn: AsyncConnection, events: list[AuditEvent], messages: list[OutgoingMessage], now: datetime
) -> None:
    await audit.append(conn, events, now)
    await outbox.enqueue(conn, messages, now)


def _next_tick(svc: Services, due: _Due, now: datetime) -> datetime | None:
    return next_action(due.step.due_at, next_tick(due.tier, svc.policy.calendar, now))


def _due_text(step: StepRecord) -> str:
    return f", due {at_text(step.due_at)}" if step.due_at is not None else ""


async def _remind(
    svc: Services, conn: AsyncConnection, due: _Due, now: datetime, note: str | None = None
) -> Outcome:
    step = due.step
    number = step.reminders_sent + 1
    text = (
        f"Reminder: {due.what} is waiting for your decision at {step.tier}{_due_text(step)}. "
        "Type /approvals to see it."
    )
    extra = {"note": note} if note else {}
    event = due.event("step.reminded", approvers=list(due.pending), reminder=number, **extra)
    await _update(
        conn,
        step,
        reminders_sent=number,
        next_action_at=_next_tick(svc, due, now),
        **({"escalated_at": now} if note else {}),
    )
    await _write(conn, [event], [*due.notify(due.pending, text), due.update_cards], now)
    return Outcome.REMINDED


async def _escalate(svc: Services, conn: AsyncConnection, due: _Due, now: datetime) -> Outcome:
    policy, step = svc.policy, due.step
    managers = escalation_managers(policy, due.pending, due.barred)
    if not managers:  # nobody above them may decide this case: keep reminding them
        return await _remind(svc, conn, due, now, note="no manager above them may decide it")
    waiting = names_of(policy, due.pending)
    has = "has" if len(due.pending) == 1 else "have"
    count = step.reminders_sent
    after = f" after {count} reminder{'s' if count != 1 else ''}" if count else ""
    to = names_of(policy, managers)
    messages = [
        *due.cards(managers),
        *due.notify(
            managers,
            f"{due.what} is overdue: {waiting} ({step.tier}) {has} not decided{after}. "
            "As their manager you may decide it on their behalf; a rationale is required.",
        ),
        *due.notify(due.pending, f"{due.what} is overdue, so it was escalated to {to}."),
        *due.notify([due.case.requester], f"{due.what} is overdue at {step.tier}: sent to {to}."),
        due.update_cards,
    ]
    event = due.event(
        "step.escalated",
        approvers=list(due.pending),
        managers=list(managers),
        after_reminders=step.reminders_sent,
    )
    await _update(conn, step, escalated_at=now, next_action_at=_next_tick(svc, due, now))
    await _write(conn, [event], messages, now)
    return Outcome.ESCALATED


def _sla_text(svc: Services, tier: Tier) -> str:
    business = " of business time" if svc.policy.calendar is not None else ""
    return f"the {format_duration(tier.sla)} SLA{business} of {tier.id}"


async def _timeout(svc: Services, conn: AsyncConnection, due: _Due, now: datetime) -> Outcome:
    match due.tier.on_timeout:
        case OnTimeout.ESCALATE:
            return await _reroute(svc, conn, due, now)
        case OnTimeout.APPROVE | OnTimeout.REJECT as decision:
            return await _decide(svc, conn, due, now, decision)
        case OnTimeout.EXPIRE:
            return await _expire(svc, conn, due, now)


def _still_needed(due: _Due) -> tuple[int, int]:
    """(approvals already in, people a reroute must find) for the step's mode."""
    approvals = sum(1 for v in due.votes if v.step_id == due.step.id and v.action is Action.APPROVE)
    needed = due.step.required - approvals if due.step.mode not in ("any", "all") else 1
    return approvals, max(needed, 1)


async def _reroute(svc: Services, conn: AsyncConnection, due: _Due, now: datetime) -> Outcome:
    policy, step = svc.policy, due.step
    level = step.timeout_level + 1
    approvals, needed = _still_needed(due)
    targets = reroute_targets(
        policy,
        due.tier,
        requester=due.case.requester,
        current=step.approvers,
        level=level,
        barred=due.barred,
        needed=needed,
        away=due.away,
    )
    schedule = opening_schedule(due.tier, policy.calendar, now)
    sla, before = _sla_text(svc, due.tier), names_of(policy, due.pending or step.approvers)
    if not targets:
        return await _nobody_further(svc, conn, due, now, schedule.due_at, level)
    required = (
        1 if step.mode == "any" else approvals + (len(targets) if step.mode == "all" else needed)
    )
    required = min(required, approvals + len(targets))  # a short reroute still can finish
    await cases.replace_assignments(conn, step, targets)
    await _update(
        conn,
        step,
        required=required,
        due_at=schedule.due_at,
        next_action_at=schedule.next_action_at,
        reminders_sent=0,
        escalated_at=None,
        timeout_level=level,
    )
    to = names_of(policy, targets)
    event = due.event(
        "step.rerouted",
        f"{before} did not decide within {sla}.",
        **{"from": list(step.approvers), "to": list(targets)},
        level=level,
        required=required,
    )
    why = f"{before} did not decide within {sla}."
    messages = [
        *due.cards(targets),
        *due.notify(targets, f"{due.what} was rerouted to you: {why}"),
        *due.notify(due.pending, f"{due.what} was rerouted to {to}; you need not decide it now."),
        *due.notify([due.case.requester], f"{due.what} was rerouted to {to}: {why}"),
        due.update_cards,
    ]
    await _write(conn, [event], messages, now)
    return Outcome.REROUTED


async def _nobody_further(
    svc: Services, conn: AsyncConnection, due: _Due, now: datetime, due_at: datetime, level: int
) -> Outcome:
    """A reroute found nobody: the step stays where it is, and the SLA clock starts again."""
    policy, step = svc.policy, due.step
    stays = names_of(policy, step.approvers) or "nobody"
    text = (
        f"{due.what} is overdue at {step.tier} and nobody further up may decide it; "
        f"it stays with {stays}."
    )
    admins = [
        p.id for p in policy.people.values() if p.has_role(Role.ADMIN) and p.id not in due.barred
    ]
    await _update(
        conn,
        step,
        due_at=due_at,
        next_action_at=next_action(due_at, next_tick(due.tier, policy.calendar, now)),
        timeout_level=level,
    )
    event = due.event("step.timed_out", text, on_timeout="escalate", level=level, rerouted=False)
    messages = [*due.notify([due.case.requester, *admins], text), due.update_cards]
    await _write(conn, [event], messages, now)
    return Outcome.TIMED_OUT


async def _decide(
    svc: Services, conn: AsyncConnection, due: _Due, now: datetime, decision: OnTimeout
) -> Outcome:
    """`on_timeout: approve|reject`: a decision by policy, recorded as the scheduler's."""
    action = Action.APPROVE if decision is OnTimeout.APPROVE else Action.REJECT
    verb = "approves" if action is Action.APPROVE else "rejects"
    reason = f"No decision within {_sla_text(svc, due.tier)}: the policy {verb} on timeout."
    step = due.step
    await cases.insert_decision(
        conn,
        step=step,
        person=SCHEDULER_ACTOR,
        on_behalf_of=None,
        action=action,
        rationale=reason,
        platform="system",
        now=now,
    )
    advance = await settle_step(
        svc, conn, due.case, due.steps, due.votes, step, SCHEDULER_ACTOR, action, now, reason
    )
    if not advance.applied:
        raise _Changed
    timed_out = due.event("step.timed_out", reason, on_timeout=decision.value)
    vote = due.event(f"decision.{_DECIDED[action]}", reason, on_timeout=True)
    messages = list(advance.messages)
    if advance.next_tier is not None:  # the case goes on; the requester hears why
        messages += due.notify(
            [due.case.requester], f"{due.what}: {reason} It moves on to {advance.next_tier}."
        )
    await _write(conn, [timed_out, vote, *advance.events], messages, now)
    return Outcome.TIMED_OUT


async def _expire(svc: Services, conn: AsyncConnection, due: _Due, now: datetime) -> Outcome:
    reason = f"No decision within {_sla_text(svc, due.tier)}: the policy lets it expire."
    if not await close_case(conn, due.case, due.steps, CaseStatus.EXPIRED, now):
        raise _Changed
    events = [
        due.event("step.timed_out", reason, on_timeout=OnTimeout.EXPIRE.value),
        due.event("case.expired", reason),
    ]
    messages = [
        due.update_cards,
        *due.notify([due.case.requester], f"{due.what} expired. {reason}"),
    ]
    await _write(conn, events, messages, now)
    return Outcome.TIMED_OUT

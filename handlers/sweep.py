"""The overdue sweep: reminders, escalation to managers and timeouts, per the tier's plan.

`sweep` claims the open steps whose `next_action_at` has passed (`storage.overdue`: a lease,
so replicas never work on one step at once and a crashed sweeper's claims are taken over),
then handles each in a transaction of its own: it checks that the claim is still its own,
lets the case model do what is due (`policy.case_overdue`), writes the state, audit events
and outbox messages, and releases the claim in the same transaction. So each reminder is
sent once however many sweepers run, and a restart never repeats one.
"""

from __future__ import annotations

import enum
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.context import Services
from handlers.digest import digested_today
from handlers.recording import record
from policy.case_draft import Change
from policy.case_overdue import overdue as overdue_change
from policy.lifecycle import AuditKind, StepStatus
from storage import absences, case_state, overdue
from storage.overdue import ClaimedStep

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=2)  # far longer than handling a batch takes
DEFAULT_LIMIT = 100


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
    now = svc.clock.now()
    claimed = await svc.db.write(
        lambda conn: overdue.claim_due_steps(conn, now, owner, lease, limit)
    )
    outcomes: Counter[Outcome] = Counter()
    for item in claimed:
        try:
            outcomes[await process_claim(svc, owner, item)] += 1
        except Exception:
            log.exception("overdue sweep: step %s of case %s failed", item.step_id, item.case_id)
            outcomes[Outcome.FAILED] += 1
    return SweepReport(len(claimed), dict(outcomes))


async def due_left(svc: Services) -> int:
    """Open steps due now that a sweep has not handled yet (claimed ones included)."""
    async with svc.db.reading() as conn:
        return await overdue.count_due(conn, svc.clock.now())


_OUTCOME_OF = (
    (AuditKind.STEP_REROUTED, "rerouted"),
    (AuditKind.STEP_TIMED_OUT, "timed_out"),
    (AuditKind.STEP_ESCALATED, "escalated"),
    (AuditKind.STEP_REMINDED, "reminded"),
)


async def process_claim(svc: Services, owner: str, claimed: ClaimedStep) -> Outcome:
    """Handle one claimed step in a transaction of its own, if `owner` still holds the claim.

    A sweeper that stalled past its lease finds its claim taken over and does nothing.
    """
    now = svc.clock.now()

    async def unit(conn: AsyncConnection) -> Change | None:
        if not await overdue.holds_claim(conn, claimed.step_id, owner, now):
            return None  # the lease ran out and another sweeper took it over
        case = await case_state.load_case(conn, claimed.case_id)
        step = case.step(claimed.step_id) if case is not None else None
        due = (
            case is not None
            and not case.status.is_final
            and step is not None
            and step.status is StepStatus.OPEN
            and step.next_action_at is not None
            and step.next_action_at <= now  # nobody moved its clock since it was claimed
        )
        if case is None or step is None or not due:
            await overdue.release(conn, claimed.step_id, owner)
            return None
        away = await absences.away_now(conn, now)
        digested = await digested_today(conn, svc.policy, now)  # their reminder waits
        change = overdue_change(svc.policy, case, step, now, away, digested)
        if not await case_state.save_case(conn, case, change.case):
            await overdue.release(conn, claimed.step_id, owner)
            return None
        await overdue.release(conn, claimed.step_id, owner)
        await record(conn, svc, change.events, change.messages, now)
        return change

    change = await svc.db.write(unit)
    if change is None:
        return Outcome.SKIPPED
    kinds = {event.action for event in change.events}
    for kind, outcome in _OUTCOME_OF:
        if kind in kinds:
            return Outcome(outcome)
    after = change.case.step(claimed.step_id)
    return Outcome.WAITED if after is not None and after.next_action_at else Outcome.SKIPPED

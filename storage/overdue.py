"""The overdue sweep's claims on steps: a lease, so replicas never work on one step at once.

A sweeper claims open steps whose `next_action_at` has passed (the index on status and
`next_action_at` keeps this proportional to the steps that are due) by writing its name and
a lease expiry on them. Another sweeper skips claimed steps until the lease runs out, so a
crashed sweeper's claims are taken over after at most one lease. Processing a step checks
the claim again in its own transaction and clears it with the step's next `next_action_at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.records import StepStatus
from storage.tables import steps


@dataclass(frozen=True, slots=True)
class ClaimedStep:
    step_id: int
    case_id: int


async def claim_due_steps(
    conn: AsyncConnection, now: datetime, owner: str, lease: timedelta, limit: int
) -> list[ClaimedStep]:
    """Claim up to `limit` due, unclaimed open steps for `owner`, most overdue first.

    Run it in a write transaction. On PostgreSQL rows another sweeper is claiming right now
    are skipped (row locks, FOR UPDATE SKIP LOCKED) rather than waited for; SQLite has one
    writer at a time. A claim only narrows who tries: what makes a step's reminder go out once
    is the case's compare-and-set (`storage.case_state.save_case`) in the step's own transaction.
    """
    query = (
        select(steps.c.id, steps.c.case_id)
        .where(
            steps.c.status == StepStatus.OPEN.value,
            steps.c.next_action_at <= now,
            or_(steps.c.claimed_until.is_(None), steps.c.claimed_until <= now),
        )
        .order_by(steps.c.next_action_at, steps.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=steps)
    claimed = [ClaimedStep(row.id, row.case_id) for row in await conn.execute(query)]
    if claimed:
        await conn.execute(
            update(steps)
            .where(steps.c.id.in_([c.step_id for c in claimed]))
            .values(claimed_until=now + lease, claimed_by=owner[:64])
        )
    return claimed


async def count_due(conn: AsyncConnection, now: datetime) -> int:
    """Open steps whose next action is due, claimed or not (on the same index as the claim)."""
    count = await conn.scalar(
        select(func.count())
        .select_from(steps)
        .where(steps.c.status == StepStatus.OPEN.value, steps.c.next_action_at <= now)
    )
    return int(count or 0)


async def holds_claim(conn: AsyncConnection, step_id: int, owner: str, now: datetime) -> bool:
    """Does `owner` still hold an unexpired claim on the step? A cheap early exit; two
    sweepers that both think so (a lease that ran out mid-step) still cannot both save the
    case, which is compare-and-set on its version."""
    row = (
        await conn.execute(
            select(steps.c.claimed_by, steps.c.claimed_until).where(steps.c.id == step_id)
        )
    ).first()
    return (
        row is not None
        and row.claimed_by == owner[:64]
        and row.claimed_until is not None
        and row.claimed_until > now
    )


async def release(conn: AsyncConnection, step_id: int, owner: str) -> None:
    """Give the claim back without changing the step (it stays due)."""
    await conn.execute(
        update(steps)
        .where(steps.c.id == step_id, steps.c.claimed_by == owner[:64])
        .values(claimed_until=None, claimed_by=None)
    )

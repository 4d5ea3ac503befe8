"""Handing back what a stopping process still holds: the claims (`claimed_by`/`claimed_until`)
of the overdue sweep (steps, remediation items), the outbox and the webhook deliveries.

A claim that is not handed back runs out after its lease anyway; handing it back on the way
out lets the next process (a restart, another replica) take the work at once. Only call it
once the owner's work has stopped: an attempt still running would write over a released row.
"""

from __future__ import annotations

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import outbox, remediation_items, steps, webhook_deliveries

CLAIMED: tuple[Table, ...] = (steps, remediation_items, outbox, webhook_deliveries)


async def release_all(conn: AsyncConnection, owner: str) -> int:
    """Clear every claim `owner` holds, in any table; how many rows were released."""
    released = 0
    for table in CLAIMED:
        result = await conn.execute(
            update(table)
            .where(table.c.claimed_by == owner[:64])  # owners are cut to the column's width
            .values(claimed_until=None, claimed_by=None)
        )
        released += result.rowcount
    return released


async def held(conn: AsyncConnection) -> dict[str, int]:
    """How many rows of each claimable table carry a claim (expired or not)."""
    counts: dict[str, int] = {}
    for table in CLAIMED:
        count = await conn.scalar(
            select(func.count()).select_from(table).where(table.c.claimed_by.is_not(None))
        )
        counts[table.name] = int(count or 0)
    return counts

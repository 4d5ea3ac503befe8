"""Which people got which day's digest: one row per person and local business day.

Replicas write side by side, so "not sent yet, mark it" is one statement on the primary key
(person, day): INSERT ... ON CONFLICT DO NOTHING. Of two replicas marking the same digest, the
second waits for the first to commit and then inserts nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from policy.lifecycle import CaseStatus
from storage.tables import cases, digests_sent
from storage.upserts import insert_or_update, insert_unless_exists


async def mark_sent(
    conn: AsyncConnection, person: str, day: date, now: datetime, *, again: bool = False
) -> bool:
    """Record that `person` gets `day`'s digest now; False (nothing written) if they already
    got it, unless `again` (then the time is updated and True)."""
    key = {"person": person, "day": day.isoformat()}
    if again:
        await insert_or_update(conn, digests_sent, key, {"sent_at": now})
        return True
    inserted = await insert_unless_exists(conn, digests_sent, {**key, "sent_at": now})
    return bool(inserted.rowcount)


async def got_digest(conn: AsyncConnection, day: date) -> frozenset[str]:
    """The people who got `day`'s digest."""
    rows = await conn.execute(
        select(digests_sent.c.person).where(digests_sent.c.day == day.isoformat())
    )
    return frozenset(rows.scalars())


async def pending_case_ids(conn: AsyncConnection) -> list[int]:
    """Every case still pending, oldest first: what a digest may list."""
    rows = await conn.execute(
        select(cases.c.id).where(cases.c.status == CaseStatus.PENDING.value).order_by(cases.c.id)
    )
    return list(rows.scalars())

"""Which people got which day's digest: one row per person and local business day.

Writers are serialized (`storage.database`), so "not sent yet, mark it" in one write
transaction cannot race; the primary key (person, day) backs that up.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from policy.lifecycle import CaseStatus
from storage.tables import cases, digests_sent


async def mark_sent(
    conn: AsyncConnection, person: str, day: date, now: datetime, *, again: bool = False
) -> bool:
    """Record that `person` gets `day`'s digest now; False (nothing written) if they already
    got it, unless `again` (then the time is updated and True)."""
    key = (digests_sent.c.person == person, digests_sent.c.day == day.isoformat())
    if await conn.scalar(select(digests_sent.c.sent_at).where(*key)) is not None:
        if not again:
            return False
        await conn.execute(update(digests_sent).where(*key).values(sent_at=now))
        return True
    await conn.execute(insert(digests_sent).values(person=person, day=day.isoformat(), sent_at=now))
    return True


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

"""Absences: who is away until when, and who takes their approvals meanwhile.

An absence is active from when it is set until its `until`, or until it is ended early
(`/approvals back`). Setting a new one ends the one before, so a person has at most one.

Writers run side by side on PostgreSQL, and what an absence guards is spread over rows that
may not exist yet (the person's absence, the delegate's, the steps filed meanwhile), so no
row lock or unique key covers it. A lock of the absences' own does: changing absences takes
it exclusively (`lock_for_change`), and reading who is away in a write transaction
(`away_now`) takes it shared. So two people cannot each name the other while both go away,
and a filing routing to someone going away commits before their steps are handed over (and
is handed over with them) or routes to their delegate. Shared holders never wait for each
other; absences are rare. Always taken before the audit chain's lock, never after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import WRITE_OPTION
from storage.tables import absences


@dataclass(frozen=True, slots=True)
class Absence:
    id: int
    person: str
    until: datetime  # the first moment they are back
    delegate: str
    set_by: str
    created_at: datetime
    ended_at: datetime | None


def _absence(row: Any) -> Absence:
    return Absence(
        id=row.id,
        person=row.person,
        until=row.until,
        delegate=row.delegate,
        set_by=row.set_by,
        created_at=row.created_at,
        ended_at=row.ended_at,
    )


ABSENCES_LOCK = 0x61776179  # pg_advisory_xact_lock key of the absences
_LOCK_SHARED = text("SELECT pg_advisory_xact_lock_shared(:key)").bindparams(key=ABSENCES_LOCK)
_LOCK_ALONE = text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=ABSENCES_LOCK)


async def lock_for_change(conn: AsyncConnection) -> None:
    """Hold the absences alone until this transaction ends (PostgreSQL; SQLite has one writer)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_LOCK_ALONE)


def _active(now: datetime) -> Any:
    return (absences.c.ended_at.is_(None)) & (absences.c.until > now)


def _writing(conn: AsyncConnection) -> bool:
    sync = conn.sync_connection
    return sync is not None and bool(sync.get_execution_options().get(WRITE_OPTION))


async def away_now(conn: AsyncConnection, now: datetime) -> dict[str, str]:
    """Everyone away at `now`, with the delegate who takes their approvals. In a write
    transaction on PostgreSQL it holds the absences shared until the commit (see above)."""
    if conn.dialect.name == "postgresql" and _writing(conn):
        await conn.execute(_LOCK_SHARED)
    rows = await conn.execute(
        select(absences.c.person, absences.c.delegate).where(_active(now)).order_by(absences.c.id)
    )
    return {row.person: row.delegate for row in rows}


async def active_absence(conn: AsyncConnection, person: str, now: datetime) -> Absence | None:
    row = (
        await conn.execute(
            select(absences)
            .where(absences.c.person == person, _active(now))
            .order_by(absences.c.id.desc())
        )
    ).first()
    return _absence(row) if row else None


async def start_absence(
    conn: AsyncConnection,
    *,
    person: str,
    until: datetime,
    delegate: str,
    set_by: str,
    now: datetime,
) -> Absence:
    """Mark `person` away until `until` (ending any absence they had)."""
    await end_absence(conn, person, now)
    result = await conn.execute(
        insert(absences)
        .values(person=person, until=until, delegate=delegate, set_by=set_by, created_at=now)
        .returning(*absences.c)
    )
    return _absence(result.one())


async def end_absence(conn: AsyncConnection, person: str, now: datetime) -> bool:
    """End `person`'s active absence now; False if they had none."""
    result = await conn.execute(
        update(absences).where(absences.c.person == person, _active(now)).values(ended_at=now)
    )
    return result.rowcount > 0

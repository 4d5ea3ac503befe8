"""Absences: who is away until when, and who takes their approvals meanwhile.

An absence is active from when it is set until its `until`, or until it is ended early
(`/approvals back`). Setting a new one ends the one before, so a person has at most one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

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


def _active(now: datetime) -> Any:
    return (absences.c.ended_at.is_(None)) & (absences.c.until > now)


async def away_now(conn: AsyncConnection, now: datetime) -> dict[str, str]:
    """Everyone away at `now`, with the delegate who takes their approvals."""
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

"""Listing cases newest first, a page at a time, by keyset on (created_at, id).

A page asks for the cases strictly after the last one the previous page showed, in one fixed
order, so cases filed while a client pages through never shift a page: nothing is skipped
and nothing comes twice (an offset would do both). The index on (created_at, id) serves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.records import CaseStatus
from storage.tables import cases
from storage.types import UTCDateTime


@dataclass(frozen=True, slots=True)
class CaseFilter:
    status: CaseStatus | None = None
    code: str | None = None
    requester: str | None = None  # a person id
    source: str | None = None
    since: datetime | None = None  # filed at or after
    until: datetime | None = None  # filed before


@dataclass(frozen=True, slots=True)
class Position:
    """Where a case stands in the listing's order."""

    created_at: datetime
    id: int


async def page(
    conn: AsyncConnection, filters: CaseFilter, after: Position | None, limit: int
) -> list[Position]:
    """The positions of up to `limit` cases matching `filters` after `after`, newest first."""
    query = select(cases.c.created_at, cases.c.id)
    for column, value in (
        (cases.c.status, filters.status.value if filters.status else None),
        (cases.c.code, filters.code),
        (cases.c.requester, filters.requester),
        (cases.c.source, filters.source),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.since is not None:
        query = query.where(cases.c.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(cases.c.created_at < filters.until)
    if after is not None:
        query = query.where(
            tuple_(cases.c.created_at, cases.c.id)
            < tuple_(literal(after.created_at, UTCDateTime()), literal(after.id))
        )
    query = query.order_by(cases.c.created_at.desc(), cases.c.id.desc()).limit(limit)
    return [Position(row.created_at, row.id) for row in await conn.execute(query)]

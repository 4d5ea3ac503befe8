"""UTCDateTime: aware UTC in, aware UTC out, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from handlers.clock import ManualClock
from storage.cases import get_case
from storage.database import Database
from storage.tables import cases
from storage.types import UTCDateTime
from tests.storage.factories import create_case

BERLIN_WINTER = timezone(timedelta(hours=1))


async def test_naive_datetimes_are_refused_before_reaching_the_database(db: Database) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().process_bind_param(datetime(2026, 3, 2, 9, 0), db.engine.dialect)


async def test_inserting_a_naive_datetime_fails_and_stores_nothing(
    db: Database, clock: ManualClock
) -> None:
    naive = clock.now().replace(tzinfo=None)

    async def insert_naive() -> None:
        async with db.transaction() as conn:
            await create_case(conn, naive)

    with pytest.raises(StatementError, match="naive datetime"):
        await insert_naive()
    async with db.reading() as conn:
        assert (await conn.execute(select(cases.c.id))).all() == []


async def test_aware_datetimes_come_back_as_utc_with_microseconds(
    db: Database, clock: ManualClock
) -> None:
    moment = (clock.now() + timedelta(microseconds=123_456)).astimezone(BERLIN_WINTER)
    assert moment.utcoffset() == timedelta(hours=1)

    async with db.transaction() as conn:
        case_id = await create_case(conn, moment)
    async with db.reading() as conn:
        case = await get_case(conn, case_id)

    assert case is not None
    assert case.created_at == moment
    assert case.created_at.tzinfo is UTC
    assert case.created_at.microsecond == 123_456
    assert (case.created_at.hour, case.created_at.minute) == (9, 0)  # 10:00+01:00 is 09:00Z


async def test_queries_compare_aware_datetimes_across_time_zones(
    db: Database, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        case_id = await create_case(conn, clock.now())
    just_before = (clock.now() - timedelta(microseconds=1)).astimezone(BERLIN_WINTER)
    just_after = (clock.now() + timedelta(microseconds=1)).astimezone(BERLIN_WINTER)

    async with db.reading() as conn:
        later = await conn.execute(select(cases.c.id).where(cases.c.created_at > just_before))
        earlier = await conn.execute(select(cases.c.id).where(cases.c.created_at > just_after))
        assert later.scalars().all() == [case_id]
        assert earlier.scalars().all() == []

"""SQLite writers of one process queue for their turn, first come first served, instead of
racing for SQLite's lock; one that gets no turn in time is told Busy (HTTP 503)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.server import create_app
from handlers.clock import ManualClock
from handlers.context import Services
from policy.model import Policy
from storage import audit
from storage.database import Busy, Database
from storage.migrate import upgrade
from tests.bot.test_intake_api import EVENT
from tests.handlers.conftest import file


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> Database:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'queue.db'}", write_wait=0.2)
    await upgrade(db)
    return db


async def test_many_concurrent_writers_all_land_in_arrival_order(
    sqlite_db: Database, policy: Policy, clock: ManualClock
) -> None:
    svc = Services(sqlite_db, policy, clock)
    sqlite_db.write_wait = 30.0
    filed = await asyncio.gather(*(file(svc, title=f"Order {n}") for n in range(40)))

    assert sorted(r.case.id for r in filed) == list(range(1, 41))
    # first come, first served: the order the filings were started in is the order of ids
    assert [r.case.title for r in sorted(filed, key=lambda r: r.case.id)] == [
        f"Order {n}" for n in range(40)
    ]
    async with sqlite_db.reading() as conn:
        assert (await audit.verify(conn)).count == 120
    await sqlite_db.dispose()


async def test_a_writer_without_a_turn_in_time_is_busy(sqlite_db: Database) -> None:
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with sqlite_db.transaction():
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()
    with pytest.raises(Busy):
        async with sqlite_db.transaction():
            pass
    release.set()
    await holder
    async with sqlite_db.transaction():  # the queue moves on
        pass
    await sqlite_db.dispose()


async def test_busy_is_a_503_with_retry_after(
    sqlite_db: Database, policy: Policy, clock: ManualClock
) -> None:
    app = create_app(Services(sqlite_db, policy, clock), api_token="t")
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    release = asyncio.Event()

    async def hold() -> None:
        async with sqlite_db.transaction():
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0.05)
    try:
        async with (
            ClientSession(base_url=str(server.make_url("/"))) as http,
            http.post(
                "/api/v1/exceptions", json=EVENT, headers={"Authorization": "Bearer t"}
            ) as response,
        ):
            assert response.status == 503
            assert response.headers["Retry-After"] == "1"
    finally:
        release.set()
        await holder
        await server.close()
        await sqlite_db.dispose()

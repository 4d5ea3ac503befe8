"""SQLite's writer thread (storage.writer): units of work run whole, one at a time, in arrival
order, on the writer's own thread; a unit whose turn does not come in time never runs; reads
go on while a unit runs."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.database import Busy, Database, NestedWrite, Unit
from storage.migrate import upgrade

NOTES = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, thread TEXT)"


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> Database:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'writer.db'}", write_wait=5.0)
    await upgrade(db)
    async with db.transaction() as conn:
        await conn.execute(text(NOTES))
    return db


def _note(body: str) -> Unit[int]:
    async def unit(conn: AsyncConnection) -> int:
        thread = threading.current_thread().name
        await conn.execute(
            text("INSERT INTO notes (body, thread) VALUES (:b, :t)"), {"b": body, "t": thread}
        )
        return int(await conn.scalar(text("SELECT max(id) FROM notes")) or 0)

    return unit


async def _bodies(db: Database) -> list[tuple[str, str]]:
    async with db.reading() as conn:
        rows = await conn.execute(text("SELECT body, thread FROM notes ORDER BY id"))
        return [(row.body, row.thread) for row in rows]


async def test_units_run_on_the_writer_thread_in_arrival_order(sqlite_db: Database) -> None:
    ids = await asyncio.gather(*(sqlite_db.write(_note(f"n{n}")) for n in range(30)))

    assert ids == list(range(1, 31))  # each unit saw only its predecessors' rows
    rows = await _bodies(sqlite_db)
    assert [body for body, _ in rows] == [f"n{n}" for n in range(30)]
    assert {thread for _, thread in rows} == {"sqlite-writer"}
    await sqlite_db.dispose()


async def test_a_failing_unit_rolls_back_whole_and_its_error_reaches_the_caller(
    sqlite_db: Database,
) -> None:
    class Refused(Exception):
        pass

    async def half_then_fail(conn: AsyncConnection) -> None:
        await conn.execute(text("INSERT INTO notes (body) VALUES ('half')"))
        raise Refused("no")

    with pytest.raises(Refused):
        await sqlite_db.write(half_then_fail)
    assert await sqlite_db.write(_note("after")) == 1
    assert [body for body, _ in await _bodies(sqlite_db)] == ["after"]
    await sqlite_db.dispose()


async def test_a_database_error_is_the_callers_and_the_writer_goes_on(
    sqlite_db: Database,
) -> None:
    async def bad_sql(conn: AsyncConnection) -> None:
        await conn.execute(text("INSERT INTO no_such_table VALUES (1)"))

    with pytest.raises(OperationalError):
        await sqlite_db.write(bad_sql)
    assert await sqlite_db.write(_note("still writes")) == 1
    await sqlite_db.dispose()


async def test_reads_go_on_while_a_unit_is_running(sqlite_db: Database) -> None:
    await sqlite_db.write(_note("committed"))
    inside, go_on = threading.Event(), threading.Event()

    async def slow(conn: AsyncConnection) -> None:
        await conn.execute(text("INSERT INTO notes (body) VALUES ('pending')"))
        inside.set()
        go_on.wait(10)  # blocks the writer thread only

    running = asyncio.create_task(sqlite_db.write(slow))
    assert await asyncio.to_thread(inside.wait, 10)
    # The reader sees the last committed state, not the open transaction, and does not wait.
    assert [body for body, _ in await _bodies(sqlite_db)] == ["committed"]
    go_on.set()
    await running
    assert [body for body, _ in await _bodies(sqlite_db)] == ["committed", "pending"]
    await sqlite_db.dispose()


async def test_a_unit_without_a_turn_in_time_is_busy_and_never_runs(
    sqlite_db: Database,
) -> None:
    inside, go_on = threading.Event(), threading.Event()

    async def hold(conn: AsyncConnection) -> None:
        inside.set()
        go_on.wait(10)

    holder = asyncio.create_task(sqlite_db.write(hold))
    assert await asyncio.to_thread(inside.wait, 10)
    sqlite_db.write_wait = 0.1
    with pytest.raises(Busy):
        await sqlite_db.write(_note("too late"))
    go_on.set()
    await holder
    sqlite_db.write_wait = 5.0
    await sqlite_db.write(_note("next"))
    assert [body for body, _ in await _bodies(sqlite_db)] == ["next"]
    await sqlite_db.dispose()


async def test_a_caller_cancelled_before_its_turn_writes_nothing_after_it_runs_whole(
    sqlite_db: Database,
) -> None:
    inside, go_on = threading.Event(), threading.Event()

    async def hold(conn: AsyncConnection) -> None:
        await conn.execute(text("INSERT INTO notes (body) VALUES ('started')"))
        inside.set()
        go_on.wait(10)

    started = asyncio.create_task(sqlite_db.write(hold))
    assert await asyncio.to_thread(inside.wait, 10)
    queued = asyncio.create_task(sqlite_db.write(_note("queued")))
    await asyncio.sleep(0.05)
    started.cancel()  # already running: it finishes and commits
    queued.cancel()  # still queued: it never runs
    go_on.set()
    for task in (started, queued):
        with pytest.raises(asyncio.CancelledError):
            await task
    await sqlite_db.write(_note("last"))
    assert [body for body, _ in await _bodies(sqlite_db)] == ["started", "last"]
    await sqlite_db.dispose()


async def test_a_write_inside_a_write_is_refused_rather_than_waiting_for_itself(
    sqlite_db: Database,
) -> None:
    async def nested(conn: AsyncConnection) -> None:
        await sqlite_db.write(_note("inner"))

    with pytest.raises(NestedWrite):
        await sqlite_db.write(nested)
    with pytest.raises(NestedWrite):
        async with sqlite_db.transaction():
            await sqlite_db.write(_note("inner"))
    assert await _bodies(sqlite_db) == []
    await sqlite_db.dispose()


async def test_blocks_and_units_take_turns(sqlite_db: Database) -> None:
    """A `transaction()` block holds the writer's turn: units queued behind it wait."""
    in_block, leave = asyncio.Event(), asyncio.Event()

    async def block() -> None:
        async with sqlite_db.transaction() as conn:
            in_block.set()
            await leave.wait()
            await conn.execute(text("INSERT INTO notes (body) VALUES ('block')"))

    holder = asyncio.create_task(block())
    await in_block.wait()
    later = asyncio.create_task(sqlite_db.write(_note("unit")))
    await asyncio.sleep(0.05)
    assert not later.done()
    leave.set()
    await holder
    assert await later == 2
    assert [body for body, _ in await _bodies(sqlite_db)] == ["block", "unit"]
    await sqlite_db.dispose()


async def test_dispose_finishes_the_queued_units_first(sqlite_db: Database) -> None:
    pending = [asyncio.ensure_future(sqlite_db.write(_note(f"q{n}"))) for n in range(5)]
    await asyncio.sleep(0)  # every unit is queued
    await sqlite_db.dispose()
    assert [await task for task in pending] == [1, 2, 3, 4, 5]


async def test_a_database_that_cannot_be_opened_fails_each_unit_and_keeps_the_thread(
    tmp_path: Path,
) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'x.db'}")
    for _ in range(2):  # the second is answered too: the thread survived the first
        with pytest.raises(OperationalError):
            await db.write(_note("never"))
    await db.dispose()

"""Where PostgreSQL writers queue: only for the audit chain, from the append to the commit.

A transaction that appends nothing (outbox claims and delivery bookkeeping, card and
conversation references) takes no advisory lock at all, and runs while an appender holds the
chain; appenders at once still make one linear chain. Checked from another connection
(pg_locks), with real concurrency.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from handlers.clock import ManualClock
from policy.effects import MessageKind, OutgoingMessage
from storage import audit, conversations, outbox
from storage.audit import CHAIN_LOCK
from storage.conversations import ConversationRef
from storage.database import Database
from storage.outbox import CardRef
from tests.storage.factories import audit_event, create_case

POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


async def _advisory_locks(db: Database) -> list[tuple[int, str]]:
    """(objid, mode) of every advisory lock granted now, seen from another connection."""
    async with db.engine.connect() as other:
        rows = await other.execute(
            text(
                "SELECT objid::bigint, mode FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()"
            )
        )
        return [(int(row.objid), str(row.mode)) for row in rows]


@POSTGRES_ONLY
async def test_delivery_bookkeeping_takes_no_advisory_lock(
    db: Database, clock: ManualClock
) -> None:
    now = clock.now()
    async with db.transaction() as conn:
        case_id = await create_case(conn, now)
        await outbox.enqueue(conn, [OutgoingMessage(MessageKind.NOTIFY, None, "lee", "hi")], now)

    async with db.transaction() as conn:
        [message] = await outbox.claim(conn, now, "replica-a", timedelta(minutes=1))
        await outbox.mark_delivered(conn, message.id, now)
        await outbox.save_card_ref(conn, CardRef(case_id, "lee", "slack", "D1", "1.2"), now)
        ref = ConversationRef("29:lee", "lee", "https://smba.example", "a:1", None)
        await conversations.remember(conn, ref, now)
        assert await _advisory_locks(db) == []  # still open: nothing held for the chain


@POSTGRES_ONLY
async def test_an_appender_holds_the_chain_from_its_append_to_its_commit(
    db: Database, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        await conn.execute(text("SELECT 1"))
        assert await _advisory_locks(db) == []  # not at the start of the transaction
        await audit.append(conn, [audit_event()], clock.now())
        assert await _advisory_locks(db) == [(CHAIN_LOCK, "ExclusiveLock")]
    assert await _advisory_locks(db) == []


async def test_a_writer_that_appends_nothing_runs_while_the_chain_is_held(
    db: Database, clock: ManualClock
) -> None:
    """On PostgreSQL the bookkeeping commits while an appender holds the chain; on SQLite it
    queues behind it (one writer), so there it is only checked to finish afterwards."""
    now = clock.now()
    appended = asyncio.Event()
    release = asyncio.Event()

    async def appender() -> None:
        async with db.transaction() as conn:
            await audit.append(conn, [audit_event()], now)
            appended.set()
            await release.wait()

    async def bookkeeping() -> None:
        async with db.transaction() as conn:
            await outbox.enqueue(conn, [OutgoingMessage(MessageKind.NOTIFY, None, "a", "x")], now)

    holding = asyncio.create_task(appender())
    await appended.wait()
    other = asyncio.create_task(bookkeeping())
    if not db.is_sqlite:
        await asyncio.wait_for(other, timeout=10)  # done while the chain is still held
        assert not holding.done()
    release.set()
    await asyncio.gather(holding, other)
    async with db.reading() as conn:
        assert await outbox.pending_count(conn) == 1


async def test_appenders_at_once_make_one_linear_chain(db: Database, clock: ManualClock) -> None:
    writers, each = 20, 3

    async def write(n: int) -> None:
        async with db.transaction() as conn:
            await conn.execute(text("SELECT 1"))  # some work of its own first
            events = [audit_event(case_ref=f"EXC-{n:06d}", n=i) for i in range(each)]
            await audit.append(conn, events, clock.now())

    await asyncio.gather(*(write(n) for n in range(writers)))

    async with db.reading() as conn:
        result = await audit.verify(conn)
        seqs = [(e.seq, e.case_ref) async for e in audit.stream_events(conn)]
    assert result.ok
    assert result.count == writers * each
    # Each transaction's events are consecutive: nobody appended in between.
    for start in range(0, writers * each, each):
        assert len({ref for _, ref in seqs[start : start + each]}) == 1


async def test_the_chain_appended_in_the_server_hashes_as_python_does(
    db: Database, clock: ManualClock
) -> None:
    """Non-ASCII text, quotes, empty and missing fields: every stored hash is the one
    storage.audit computes (on PostgreSQL the server hashed them, storage.audit_server)."""
    events = [
        audit_event(rationale='Zoë said "ok" — 10 000 €', note="naïve\\n\u2603", n=1),
        audit_event(case_ref=None, rationale=None),
        audit_event(rationale="", nested={"a": [1, 2.5, None, True]}),
    ]
    async with db.transaction() as conn:
        await audit.append(conn, events, clock.now())
    async with db.transaction() as conn:
        await audit.append(conn, [audit_event(action="case.decided")], clock.now())

    async with db.reading() as conn:
        stored = [e async for e in audit.stream_events(conn)]
        assert (await audit.verify(conn)).ok
    prev = audit.GENESIS_HASH
    for event in stored:
        assert event.prev_hash == prev
        prev = event.hash
    assert [e.seq for e in stored] == [1, 2, 3, 4]
    assert stored[0].rationale == 'Zoë said "ok" — 10 000 €'


def test_the_server_function_takes_the_chain_lock() -> None:
    migration = Path(__file__).parents[2] / "storage/migrations/versions"
    text_of = next(migration.glob("0011_*.py")).read_text(encoding="utf-8")
    assert f"pg_advisory_xact_lock({CHAIN_LOCK})" in text_of

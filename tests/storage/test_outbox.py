"""The outbox: queued messages, retries with backoff, dead letters, and card references."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from handlers.clock import ManualClock
from storage import outbox
from storage.database import Database
from storage.outbox import (
    MAX_ATTEMPTS,
    CardRef,
    MessageKind,
    MessageStatus,
    OutgoingMessage,
    PendingMessage,
)
from storage.tables import card_refs
from storage.tables import outbox as outbox_table
from tests.storage.factories import create_case

RETRY = timedelta(minutes=5)


async def _filed_case(db: Database, clock: ManualClock) -> int:
    async with db.transaction() as conn:
        return await create_case(conn, clock.now())


async def _enqueue(db: Database, clock: ManualClock, *messages: OutgoingMessage) -> None:
    async with db.transaction() as conn:
        await outbox.enqueue(conn, list(messages), clock.now())


async def _due(db: Database, clock: ManualClock, limit: int = 100) -> list[PendingMessage]:
    async with db.reading() as conn:
        return await outbox.due(conn, clock.now(), limit)


async def _fail(db: Database, clock: ManualClock, message: PendingMessage, error: str) -> None:
    async with db.transaction() as conn:
        await outbox.mark_failed(conn, message, error, clock.now(), RETRY)


async def _row(db: Database, message_id: int) -> dict[str, object]:
    async with db.reading() as conn:
        row = (
            await conn.execute(select(outbox_table).where(outbox_table.c.id == message_id))
        ).one()
    return dict(row._mapping)


async def test_enqueued_messages_are_due_at_once_in_order(db: Database, clock: ManualClock) -> None:
    case_id = await _filed_case(db, clock)
    await _enqueue(
        db,
        clock,
        OutgoingMessage(MessageKind.POST_CARD, case_id=case_id, recipient="bob"),
        OutgoingMessage(MessageKind.UPDATE_CARDS, case_id=case_id),
        OutgoingMessage(MessageKind.NOTIFY, recipient="alice", text="Your case was filed ✓"),
    )

    due = await _due(db, clock)
    assert [(m.kind, m.case_id, m.recipient, m.text, m.attempts) for m in due] == [
        (MessageKind.POST_CARD, case_id, "bob", None, 0),
        (MessageKind.UPDATE_CARDS, case_id, None, None, 0),
        (MessageKind.NOTIFY, None, "alice", "Your case was filed ✓", 0),
    ]
    assert [m.id for m in due] == sorted(m.id for m in due)
    assert [m.id for m in await _due(db, clock, limit=2)] == [m.id for m in due[:2]]
    async with db.reading() as conn:
        assert await outbox.pending_count(conn) == 3


async def test_enqueue_of_nothing_writes_nothing(db: Database, clock: ManualClock) -> None:
    await _enqueue(db, clock)
    assert await _due(db, clock) == []


async def test_a_delivered_message_is_no_longer_due(db: Database, clock: ManualClock) -> None:
    await _enqueue(
        db,
        clock,
        OutgoingMessage(MessageKind.NOTIFY, recipient="alice", text="one"),
        OutgoingMessage(MessageKind.NOTIFY, recipient="bob", text="two"),
    )
    first, second = await _due(db, clock)
    clock.advance(timedelta(seconds=2))

    async with db.transaction() as conn:
        await outbox.mark_delivered(conn, first.id, clock.now())

    assert [m.id for m in await _due(db, clock)] == [second.id]
    row = await _row(db, first.id)
    assert row["status"] == MessageStatus.DELIVERED.value
    assert row["delivered_at"] == clock.now()
    async with db.reading() as conn:
        assert await outbox.pending_count(conn) == 1


async def test_a_failed_message_waits_for_its_next_attempt(
    db: Database, clock: ManualClock
) -> None:
    await _enqueue(
        db,
        clock,
        OutgoingMessage(MessageKind.NOTIFY, recipient="alice", text="first"),
        OutgoingMessage(MessageKind.NOTIFY, recipient="bob", text="second"),
    )
    first, second = await _due(db, clock)
    failed_at = clock.now()

    await _fail(db, clock, first, "429 Too Many Requests")

    row = await _row(db, first.id)
    assert row["attempts"] == 1
    assert row["status"] == MessageStatus.PENDING.value
    assert row["next_attempt_at"] == failed_at + RETRY
    assert row["last_error"] == "429 Too Many Requests"
    assert [m.id for m in await _due(db, clock)] == [second.id]

    clock.advance(RETRY - timedelta(microseconds=1))
    assert [m.id for m in await _due(db, clock)] == [second.id]

    clock.advance(timedelta(microseconds=1))  # next_attempt_at <= now: due again, id order kept
    retried, still_second = await _due(db, clock)
    assert (retried.id, retried.attempts) == (first.id, 1)
    assert still_second.id == second.id
    async with db.reading() as conn:
        assert await outbox.pending_count(conn) == 2  # waiting to retry still counts as pending


async def test_a_message_goes_dead_after_max_attempts(db: Database, clock: ManualClock) -> None:
    await _enqueue(db, clock, OutgoingMessage(MessageKind.NOTIFY, recipient="bob", text="hi"))

    for attempt in range(1, MAX_ATTEMPTS):
        (message,) = await _due(db, clock)
        assert message.attempts == attempt - 1
        await _fail(db, clock, message, f"503 attempt {attempt}")
        assert (await _row(db, message.id))["status"] == MessageStatus.PENDING.value
        clock.advance(RETRY)

    (last_try,) = await _due(db, clock)
    assert last_try.attempts == MAX_ATTEMPTS - 1
    await _fail(db, clock, last_try, "503 for the last time")

    row = await _row(db, last_try.id)
    assert row["status"] == MessageStatus.DEAD.value
    assert row["attempts"] == MAX_ATTEMPTS
    assert row["last_error"] == "503 for the last time"
    clock.advance(RETRY * 100)
    assert await _due(db, clock) == []
    async with db.reading() as conn:
        assert await outbox.pending_count(conn) == 0


async def test_a_long_error_is_truncated(db: Database, clock: ManualClock) -> None:
    await _enqueue(db, clock, OutgoingMessage(MessageKind.NOTIFY, recipient="bob", text="hi"))
    (message,) = await _due(db, clock)
    await _fail(db, clock, message, "x" * 5000)
    assert (await _row(db, message.id))["last_error"] == "x" * 2000


async def test_save_card_ref_inserts_then_moves_in_place(db: Database, clock: ManualClock) -> None:
    case_id = await _filed_case(db, clock)
    posted = CardRef(case_id, "bob", "slack", "D123", "1700000000.000100")
    async with db.transaction() as conn:
        await outbox.save_card_ref(conn, posted, clock.now())

    clock.advance(timedelta(minutes=10))
    reposted = CardRef(case_id, "bob", "slack", "D999", "1700000600.000200")
    async with db.transaction() as conn:
        await outbox.save_card_ref(conn, reposted, clock.now())

    async with db.reading() as conn:
        refs = await outbox.card_refs_for_case(conn, case_id)
        updated_at = await conn.scalar(select(card_refs.c.updated_at))
        rows = (await conn.execute(select(card_refs))).all()
    assert refs == [reposted]
    assert len(rows) == 1
    assert updated_at == clock.now()


async def test_card_refs_for_case_filters_by_case_and_platform(
    db: Database, clock: ManualClock
) -> None:
    case_id = await _filed_case(db, clock)
    other_case = await _filed_case(db, clock)
    bob_slack = CardRef(case_id, "bob", "slack", "D1", "1.1")
    bob_teams = CardRef(case_id, "bob", "teams", "conv-1", "act-1")
    carol_slack = CardRef(case_id, "carol", "slack", "D2", "2.2")
    elsewhere = CardRef(other_case, "bob", "slack", "D1", "3.3")
    async with db.transaction() as conn:
        for ref in (carol_slack, bob_teams, elsewhere, bob_slack):
            await outbox.save_card_ref(conn, ref, clock.now())

    async with db.reading() as conn:
        everything = await outbox.card_refs_for_case(conn, case_id)
        slack = await outbox.card_refs_for_case(conn, case_id, "slack")
        teams = await outbox.card_refs_for_case(conn, case_id, platform="teams")
        console = await outbox.card_refs_for_case(conn, case_id, "console")

    assert {(r.person, r.platform) for r in everything} == {
        ("bob", "slack"),
        ("bob", "teams"),
        ("carol", "slack"),
    }
    assert [r.person for r in everything] == ["bob", "bob", "carol"]  # ordered by person
    assert slack == [bob_slack, carol_slack]
    assert teams == [bob_teams]
    assert console == []


async def _claim(db: Database, clock: ManualClock, owner: str, limit: int = 50) -> list[int]:
    async with db.transaction() as conn:
        claimed = await outbox.claim(conn, clock.now(), owner, timedelta(minutes=2), limit)
    return [m.id for m in claimed]


async def test_claims_of_racing_deliverers_never_overlap(db: Database, clock: ManualClock) -> None:
    case_id = await _filed_case(db, clock)
    await _enqueue(
        db,
        clock,
        *[OutgoingMessage(MessageKind.UPDATE_CARDS, case_id=case_id) for _ in range(10)],
    )

    first, second = await asyncio.gather(
        _claim(db, clock, "replica-a", limit=6), _claim(db, clock, "replica-b", limit=6)
    )

    assert not set(first) & set(second)
    assert len(first) + len(second) == 10
    assert await _claim(db, clock, "replica-c") == []  # everything is claimed
    assert await _due(db, clock) == []


async def test_a_crashed_deliverers_claim_runs_out_and_is_taken_over(
    db: Database, clock: ManualClock
) -> None:
    case_id = await _filed_case(db, clock)
    await _enqueue(db, clock, OutgoingMessage(MessageKind.UPDATE_CARDS, case_id=case_id))
    taken = await _claim(db, clock, "crashed")

    clock.advance(timedelta(minutes=1))
    assert await _claim(db, clock, "survivor") == []
    clock.advance(timedelta(minutes=1, seconds=1))
    assert await _claim(db, clock, "survivor") == taken


async def test_delivering_releases_the_claim(db: Database, clock: ManualClock) -> None:
    case_id = await _filed_case(db, clock)
    await _enqueue(db, clock, OutgoingMessage(MessageKind.UPDATE_CARDS, case_id=case_id))
    [message_id] = await _claim(db, clock, "a")
    async with db.transaction() as conn:
        await outbox.mark_delivered(conn, message_id, clock.now())
    row = await _row(db, message_id)
    assert row["claimed_until"] is None
    assert row["status"] == "delivered"

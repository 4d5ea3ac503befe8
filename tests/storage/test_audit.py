"""The hash-chained audit log: chaining, verification and queries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from itertools import pairwise
from typing import Any, cast

import pytest
from sqlalchemy import CursorResult, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncResult
from sqlalchemy.pool import PoolProxiedConnection

from handlers.clock import ManualClock
from policy.lifecycle import AuditKind
from storage import audit
from storage.audit import GENESIS_HASH, AuditRecord, event_hash
from storage.database import Database
from storage.tables import audit_events
from tests.storage.factories import all_events, audit_event


def _recomputed_hash(record: AuditRecord) -> str:
    return event_hash(
        prev_hash=record.prev_hash,
        seq=record.seq,
        at=record.at,
        actor=record.actor,
        action=record.action,
        case_ref=record.case_ref,
        step_id=record.step_id,
        rationale=record.rationale,
        policy_version=record.policy_version,
        platform=record.platform,
        data_json=audit.canonical_json(record.data),
    )


async def test_verify_on_an_empty_log_is_ok(db: Database) -> None:
    async with db.reading() as conn:
        result = await audit.verify(conn)
    assert result.ok
    assert result.count == 0
    assert result.broken_seq is None
    assert result.problem is None


async def test_appended_events_form_a_chain(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        await audit.append(
            conn,
            [audit_event("case.filed"), audit_event("step.opened"), audit_event("card.posted")],
            clock.now(),
        )
    async with db.reading() as conn:
        events = await all_events(conn)

    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in pairwise(events):
        assert after.prev_hash == before.hash
    for event in events:
        assert event.hash == _recomputed_hash(event)
        assert event.at == clock.now()
    assert len({e.hash for e in events}) == 3


async def test_append_keeps_the_order_given(db: Database, clock: ManualClock) -> None:
    actions = ["case.filed", "rule.fired", "step.opened", "card.posted", "requester.notified"]
    async with db.transaction() as conn:
        await audit.append(conn, [audit_event(action) for action in actions], clock.now())
    async with db.reading() as conn:
        events = await all_events(conn)
    assert [(e.seq, e.action) for e in events] == list(enumerate(actions, start=1))


async def test_append_of_nothing_writes_nothing(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        await audit.append(conn, [], clock.now())
    async with db.reading() as conn:
        assert await all_events(conn) == []
        assert (await audit.verify(conn)).count == 0


async def test_chain_continues_across_transactions(db: Database, clock: ManualClock) -> None:
    for batch in (2, 1, 3):
        async with db.transaction() as conn:
            await audit.append(conn, [audit_event() for _ in range(batch)], clock.now())
        clock.advance(timedelta(minutes=5))

    async with db.reading() as conn:
        result = await audit.verify(conn, batch=2)  # several fetch batches, too
        events = await all_events(conn)

    assert result.ok
    assert result.count == 6
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    # The first event of each later transaction links to the last of the one before.
    assert events[2].prev_hash == events[1].hash
    assert events[3].prev_hash == events[2].hash
    assert [e.at for e in events] == [
        events[0].at,
        events[0].at,
        events[0].at + timedelta(minutes=5),
        events[0].at + timedelta(minutes=10),
        events[0].at + timedelta(minutes=10),
        events[0].at + timedelta(minutes=10),
    ]


async def test_event_fields_round_trip(db: Database, clock: ManualClock) -> None:
    event = audit.AuditEvent(
        actor="bob",
        action=AuditKind.STEP_APPROVED,
        case_ref="EXC-000042",
        step_id=7,
        rationale="within budget",
        policy_version="abc123",
        platform="slack",
        data={"amount": 12500.5, "flags": ["no-po"], "nested": {"b": 2, "a": 1}},
    )
    async with db.transaction() as conn:
        await audit.append(conn, [event], clock.now())
    async with db.reading() as conn:
        (stored,) = await all_events(conn)
    assert (stored.actor, stored.action, stored.case_ref, stored.step_id) == (
        "bob",
        "step.approved",
        "EXC-000042",
        7,
    )
    assert (stored.rationale, stored.policy_version, stored.platform) == (
        "within budget",
        "abc123",
        "slack",
    )
    assert stored.data == {"amount": 12500.5, "flags": ["no-po"], "nested": {"a": 1, "b": 2}}


async def test_unicode_rationale_round_trips_and_verifies(db: Database, clock: ManualClock) -> None:
    rationale = "Genehmigt – Lieferant in Zürich ✓; 供应商已审核 🚀 «ok»"
    async with db.transaction() as conn:
        await audit.append(
            conn,
            [audit_event("step.approved", rationale=rationale, note="naïve café ∑")],
            clock.now(),
        )
    async with db.reading() as conn:
        (stored,) = await all_events(conn)
        result = await audit.verify(conn)
    assert stored.rationale == rationale
    assert stored.data == {"note": "naïve café ∑"}
    assert stored.hash == _recomputed_hash(stored)
    assert result.ok
    assert result.count == 1


async def test_data_is_stored_as_canonical_json(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        await audit.append(conn, [audit_event(z=1, a="ä")], clock.now())
    async with db.reading() as conn:
        raw = await conn.scalar(select(audit_events.c.data))
        (stored,) = await all_events(conn)
    assert raw == '{"a":"ä","z":1}'  # sorted keys, no whitespace, not ASCII-escaped
    assert stored.data == {"a": "ä", "z": 1}


async def test_events_for_case_returns_only_that_case_in_order(
    db: Database, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        await audit.append(
            conn,
            [
                audit_event("case.filed", case_ref="EXC-000001"),
                audit_event("case.filed", case_ref="EXC-000002"),
                audit_event("step.approved", case_ref="EXC-000001"),
                audit_event("policy.reloaded", case_ref=None),
                audit_event("case.approved", case_ref="EXC-000001"),
            ],
            clock.now(),
        )
    async with db.reading() as conn:
        first = await audit.events_for_case(conn, "EXC-000001")
        second = await audit.events_for_case(conn, "EXC-000002")
        unknown = await audit.events_for_case(conn, "EXC-000099")

    assert [(e.seq, e.action) for e in first] == [
        (1, "case.filed"),
        (3, "step.approved"),
        (5, "case.approved"),
    ]
    assert [e.seq for e in second] == [2]
    assert unknown == []


async def test_stream_events_filters_by_case_and_time(db: Database, clock: ManualClock) -> None:
    start = clock.now()
    for case in ("EXC-000001", "EXC-000002", "EXC-000001", "EXC-000002", "EXC-000001"):
        async with db.transaction() as conn:
            await audit.append(conn, [audit_event(case_ref=case)], clock.now())
        clock.advance(timedelta(hours=1))

    async with db.reading() as conn:
        everything = [e.seq async for e in audit.stream_events(conn, batch=2)]
        case_one = [e.seq async for e in audit.stream_events(conn, case_ref="EXC-000001")]
        # `since` is inclusive: the event at exactly start + 2h is included.
        recent = [e.seq async for e in audit.stream_events(conn, since=start + timedelta(hours=2))]
        recent_case_two = [
            e.seq
            async for e in audit.stream_events(
                conn, case_ref="EXC-000002", since=start + timedelta(minutes=90), batch=1
            )
        ]
        future = [e.seq async for e in audit.stream_events(conn, since=clock.now())]

    assert everything == [1, 2, 3, 4, 5]
    assert case_one == [1, 3, 5]
    assert recent == [3, 4, 5]
    assert recent_case_two == [4]
    assert future == []


class _WriterCommitsBetweenStatements:
    """The reader's connection, except that another writer commits right before the reader's
    second statement: `verify` has read the head and turns to the events (with the driver's
    own cursor, through `get_raw_connection`)."""

    def __init__(self, conn: AsyncConnection, writer: Callable[[], Awaitable[None]]) -> None:
        self._conn = conn
        self._writer: Callable[[], Awaitable[None]] | None = writer
        self._statements = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)  # the dialect, and anything else verify reads

    async def _between(self) -> None:
        self._statements += 1
        if self._statements == 2 and self._writer is not None:
            writer, self._writer = self._writer, None
            await writer()

    async def get_raw_connection(self) -> PoolProxiedConnection:
        await self._between()
        return await self._conn.get_raw_connection()

    async def stream(self, *args: Any, **kwargs: Any) -> AsyncResult[Any]:
        await self._between()
        result: AsyncResult[Any] = await self._conn.stream(*args, **kwargs)
        return result

    async def execute(self, *args: Any, **kwargs: Any) -> CursorResult[Any]:
        await self._between()
        result: CursorResult[Any] = await self._conn.execute(*args, **kwargs)
        return result


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_verify_is_not_fooled_by_an_append_committed_while_it_runs(
    db: Database, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        await audit.append(conn, [audit_event() for _ in range(3)], clock.now())

    async def append_one_more() -> None:
        async with db.transaction() as conn:
            await audit.append(conn, [audit_event("step.approved")], clock.now())

    async with db.reading() as conn:
        racing = _WriterCommitsBetweenStatements(conn, append_one_more)
        result = await audit.verify(cast(AsyncConnection, racing))

    assert result.problem is None
    assert result.ok
    assert result.count == 3  # the log as it was when verify read the head
    async with db.reading() as conn:
        assert (await audit.verify(conn)).count == 4  # the writer did commit meanwhile

"""The unit of work: state, audit and outbox rows commit together or not at all."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.clock import ManualClock
from storage import audit, outbox
from storage.cases import get_case, steps_for_case
from storage.database import Database
from storage.outbox import MessageKind, OutgoingMessage
from storage.records import case_ref
from storage.tables import assignments, audit_events, audit_head, cases, steps
from storage.tables import outbox as outbox_table
from tests.storage.factories import audit_event, count_rows, create_case, new_step


class BoomError(Exception):
    pass


async def _file_a_case(conn: AsyncConnection, clock: ManualClock) -> int:
    """What intake does: a case with steps, its audit events and its outbox messages."""
    case_id = await create_case(
        conn, clock.now(), steps=[new_step(1, approvers=("bob", "carol")), new_step(2)]
    )
    await audit.append(
        conn,
        [
            audit_event("case.filed", case_ref=case_ref(case_id)),
            audit_event("step.opened", case_ref=case_ref(case_id)),
        ],
        clock.now(),
    )
    await outbox.enqueue(
        conn,
        [
            OutgoingMessage(MessageKind.POST_CARD, case_id=case_id, recipient="bob"),
            OutgoingMessage(MessageKind.NOTIFY, case_id=case_id, recipient="alice", text="filed"),
        ],
        clock.now(),
    )
    return case_id


async def test_success_commits_state_audit_and_outbox(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        case_id = await _file_a_case(conn, clock)

    async with db.reading() as conn:
        case = await get_case(conn, case_id)
        case_steps = await steps_for_case(conn, case_id)
        events = await audit.events_for_case(conn, case_ref(case_id))
        due = await outbox.due(conn, clock.now())
        verified = await audit.verify(conn)

    assert case is not None
    assert case.requester == "alice"
    assert [(s.position, s.approvers) for s in case_steps] == [(1, ("bob", "carol")), (2, ("bob",))]
    assert [e.action for e in events] == ["case.filed", "step.opened"]
    assert [(m.kind, m.recipient) for m in due] == [
        (MessageKind.POST_CARD, "bob"),
        (MessageKind.NOTIFY, "alice"),
    ]
    assert verified.ok
    assert verified.count == 2


async def test_an_exception_rolls_back_state_audit_and_outbox(
    db: Database, clock: ManualClock
) -> None:
    async def file_then_fail() -> None:
        async with db.transaction() as conn:
            await _file_a_case(conn, clock)
            raise BoomError("the platform client exploded")

    with pytest.raises(BoomError):
        await file_then_fail()

    async with db.reading() as conn:
        for table in (cases, steps, assignments, audit_events, audit_head, outbox_table):
            assert await count_rows(conn, table) == 0, table.name
        assert await outbox.pending_count(conn) == 0
        verified = await audit.verify(conn)
    assert verified.ok
    assert verified.count == 0


async def test_after_a_rollback_the_chain_starts_where_it_left_off(
    db: Database, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        await audit.append(conn, [audit_event("first")], clock.now())

    async def append_then_fail() -> None:
        async with db.transaction() as conn:
            await audit.append(conn, [audit_event("lost"), audit_event("lost")], clock.now())
            raise BoomError

    with pytest.raises(BoomError):
        await append_then_fail()

    async with db.transaction() as conn:
        await audit.append(conn, [audit_event("second")], clock.now())

    async with db.reading() as conn:
        events = [(e.seq, e.action) async for e in audit.stream_events(conn)]
        verified = await audit.verify(conn)
    assert events == [(1, "first"), (2, "second")]
    assert verified.ok
    assert verified.count == 2


async def test_reading_sees_only_committed_work(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        case_id = await create_case(conn, clock.now())
    async with db.reading() as conn:
        case = await get_case(conn, case_id)
        missing = await get_case(conn, case_id + 1)
    assert case is not None
    assert case.id == case_id
    assert missing is None

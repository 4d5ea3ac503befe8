"""Tamper evidence: the database refuses to change the audit log, and when someone gets
past that (by dropping the triggers), `verify` names where the chain breaks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from handlers.clock import ManualClock
from storage import audit
from storage.database import Database
from storage.tables import audit_events
from tests.storage.factories import all_events, allow_audit_tampering, audit_event

EVENTS = 5


@pytest.fixture
async def chained(db: Database, clock: ManualClock) -> Database:
    """A log of EVENTS events (seq 1..5), appended over two transactions."""
    async with db.transaction() as conn:
        await audit.append(conn, [audit_event(f"event.{n}") for n in (1, 2, 3)], clock.now())
    async with db.transaction() as conn:
        await audit.append(
            conn, [audit_event("event.4", rationale="ok"), audit_event("event.5")], clock.now()
        )
    return db


async def _tamper(db: Database, statement: str) -> None:
    async with db.transaction() as conn:
        await allow_audit_tampering(conn)
        await conn.execute(text(statement))


async def _verify(db: Database) -> audit.VerifyResult:
    async with db.reading() as conn:
        return await audit.verify(conn)


# -- the database refuses ------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET rationale = 'approved after all' WHERE seq = 2",
        "UPDATE audit_events SET actor = 'mallory'",
        "DELETE FROM audit_events WHERE seq = 5",
        "DELETE FROM audit_events",
    ],
)
async def test_database_refuses_to_change_audit_events(chained: Database, statement: str) -> None:
    async with chained.reading() as conn:
        before = await all_events(conn)

    with pytest.raises(DBAPIError, match="append-only"):
        async with chained.transaction() as conn:
            await conn.execute(text(statement))

    async with chained.reading() as conn:
        assert await all_events(conn) == before
        result = await audit.verify(conn)
    assert result.ok
    assert result.count == EVENTS


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_postgres_refuses_to_truncate_audit_events(chained: Database) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        async with chained.transaction() as conn:
            await conn.execute(text("TRUNCATE audit_events"))

    result = await _verify(chained)
    assert result.ok
    assert result.count == EVENTS


async def test_refused_change_rolls_back_the_whole_transaction(
    chained: Database, clock: ManualClock
) -> None:
    """A tamper attempt inside a transaction that also appends leaves no trace at all."""

    async def append_then_delete_first() -> None:
        async with chained.transaction() as conn:
            await audit.append(conn, [audit_event("event.6")], clock.now())
            await conn.execute(text("DELETE FROM audit_events WHERE seq = 1"))

    with pytest.raises(DBAPIError, match="append-only"):
        await append_then_delete_first()

    result = await _verify(chained)
    assert result.ok
    assert result.count == EVENTS


# -- verify catches what got past the triggers ---------------------------------------------


async def test_verify_names_an_event_whose_content_was_changed(chained: Database) -> None:
    await _tamper(chained, "UPDATE audit_events SET rationale = 'forged' WHERE seq = 3")

    result = await _verify(chained)
    assert not result.ok
    assert result.broken_seq == 3
    assert result.count == 2  # the events before it are intact
    assert result.problem == "its content does not match its hash"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "mallory"),
        ("action", "step.rejected"),
        ("case_ref", "EXC-000999"),
        ("step_id", 99),
        ("rationale", None),
        ("policy_version", "policy-v0"),
        ("platform", "teams"),
        ("data", '{"amount":1}'),
    ],
)
async def test_verify_detects_a_change_to_any_audited_field(
    chained: Database, column: str, value: object
) -> None:
    async with chained.transaction() as conn:
        await allow_audit_tampering(conn)
        await conn.execute(
            update(audit_events).where(audit_events.c.seq == 4).values({column: value})
        )

    result = await _verify(chained)
    assert result.broken_seq == 4
    assert result.problem == "its content does not match its hash"


async def test_verify_detects_a_changed_timestamp(chained: Database, clock: ManualClock) -> None:
    async with chained.transaction() as conn:
        await allow_audit_tampering(conn)
        await conn.execute(
            update(audit_events)
            .where(audit_events.c.seq == 2)
            .values(at=clock.now() - timedelta(days=1))
        )

    result = await _verify(chained)
    assert result.broken_seq == 2
    assert result.problem == "its content does not match its hash"


async def test_verify_names_the_event_after_a_deleted_middle_event(chained: Database) -> None:
    await _tamper(chained, "DELETE FROM audit_events WHERE seq = 3")

    result = await _verify(chained)
    assert not result.ok
    assert result.broken_seq == 4
    assert result.count == 2
    assert result.problem == "expected event 3, found 4"


async def test_verify_names_the_second_event_when_the_first_is_deleted(
    chained: Database,
) -> None:
    await _tamper(chained, "DELETE FROM audit_events WHERE seq = 1")

    result = await _verify(chained)
    assert result.broken_seq == 2
    assert result.count == 0


async def test_verify_reports_a_cut_off_tail_through_the_head(chained: Database) -> None:
    await _tamper(chained, "DELETE FROM audit_events WHERE seq = 5")

    result = await _verify(chained)
    assert not result.ok
    assert result.broken_seq is None  # every remaining event is intact...
    assert result.count == EVENTS - 1
    assert result.problem == "the chain head says 5 events but 4 were found"  # ...but not all


async def test_verify_reports_a_head_that_does_not_match_the_last_hash(
    chained: Database,
) -> None:
    """Same count, different hash: the last event was replaced by a re-hashed forgery."""
    async with chained.transaction() as conn:
        await conn.execute(text("UPDATE audit_head SET hash = :h"), {"h": "f" * 64})

    result = await _verify(chained)
    assert not result.ok
    assert result.broken_seq is None
    assert result.count == EVENTS

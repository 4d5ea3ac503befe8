"""The fast chain verification (storage.audit_verify) judges every row as `event_hash` does:
the body it rebuilds from the stored text is byte for byte the one append hashed, and a
stored value of another type or form than append writes is hashed the slow way, never
waved through."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.engine import Dialect, make_url

from handlers.clock import ManualClock
from storage import audit, driver_rows
from storage.audit import GENESIS_HASH, AuditEvent, canonical_json, event_hash
from storage.audit_content import verify_contents
from storage.audit_report import check_log
from storage.audit_verify import _Chain, _time_reader
from storage.database import Database
from storage.tables import audit_events, cases
from tests.storage.factories import allow_audit_tampering, audit_event, create_case

AWKWARD = [
    'quote " backslash \\ slash /',
    "controls \x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f end",
    "line separators \u2028\u2029, bom \ufeff, nbsp \xa0",
    "Zürich ✓ 供应商 🚀 «ok» \U0010ffff",
    "",
]
AT = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)


def _row(seq: int, prev: str, stored_at: Any, **fields: Any) -> tuple[Any, ...]:
    """An audit_events row as a driver hands it back (`COLUMNS`), hashed as append hashes."""
    values: dict[str, Any] = {
        "actor": "alice",
        "action": "step.approved",
        "case_ref": "EXC-000001",
        "step_id": None,
        "rationale": None,
        "policy_version": "v1",
        "platform": "slack",
        "data_json": canonical_json({"note": "x"}),
        **fields,
    }
    digest = event_hash(prev_hash=prev, seq=seq, at=AT, **values)
    return (seq, stored_at, *values.values(), prev, digest)


def _dialect(url: str) -> Dialect:
    return make_url(url).get_dialect()()


@pytest.mark.parametrize("engine", ["sqlite+aiosqlite", "postgresql+asyncpg"])
def test_the_rebuilt_body_is_event_hashs_for_awkward_text(engine: str) -> None:
    dialect = _dialect(f"{engine}://")
    sqlite = dialect.name == "sqlite"
    stored_at = "2026-03-02 09:00:00.123456" if sqlite else AT.replace(tzinfo=None)
    rows, prev = [], GENESIS_HASH
    for seq, value in enumerate(AWKWARD, start=1):
        row = _row(
            seq,
            prev,
            stored_at,
            actor=value,
            action=value,
            case_ref=value,
            step_id=seq * 10**12,
            rationale=value,
            policy_version=value,
            platform=value,
            data_json=canonical_json({"v": value, "n": None, "f": 1.5}),
        )
        rows.append(row)
        prev = row[-1]
    rows.append(_row(len(rows) + 1, prev, stored_at))  # every nullable field None

    chain = _Chain(_time_reader(dialect))
    assert chain.feed(rows) is None
    assert (chain.expected, chain.prev) == (len(rows) + 1, rows[-1][-1])


@pytest.mark.parametrize(
    ("honest", "column", "forged"),
    [
        ({}, 5, "null"),  # text 'null' in step_id is not NULL
        ({"step_id": 5}, 5, 5.0),  # nor a whole-valued float an int
        ({"step_id": 5}, 5, "5"),
        ({"rationale": "ok"}, 6, b"ok"),  # nor a blob text
        ({"rationale": "ok"}, 6, None),
        ({}, 2, None),  # an actor gone NULL
    ],
)
def test_a_value_append_never_writes_does_not_pass(
    honest: dict[str, Any], column: int, forged: Any
) -> None:
    """SQLite keeps any type in any column: a forged value of another type must not pass for
    the one hashed, though it may print the same."""
    reader = _time_reader(_dialect("sqlite+aiosqlite://"))
    row = _row(1, GENESIS_HASH, "2026-03-02 09:00:00.123456", **honest)
    assert _Chain(reader).feed([row]) is None
    tampered = (*row[:column], forged, *row[column + 1 :])
    broken = _Chain(reader).feed([tampered])
    assert broken is not None
    assert (broken.broken_seq, broken.problem) == (1, "its content does not match its hash")


async def _first_event_at(db: Database, stored: str) -> audit.VerifyResult:
    async with db.transaction() as conn:
        await allow_audit_tampering(conn)
        await conn.execute(text("UPDATE audit_events SET at = :at WHERE seq = 1"), {"at": stored})
    async with db.reading() as conn:
        return await audit.verify(conn)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("stored", "intact"),
    [
        ("2026-03-02T09:00:00.123456", True),  # the same time in another ISO form reads the same
        ("2026-03-02 09:00:00.123456+00:00", True),
        ("2026-03-02 09:00:00.123457", False),
        ("2026-03-02 09:00:00", False),
        ("yesterday", False),  # not a time at all: named, not a crash
    ],
)
async def test_a_sqlite_time_in_another_form_is_read_as_sqlalchemy_reads_it(
    db: Database, stored: str, intact: bool
) -> None:
    async with db.transaction() as conn:
        await audit.append(conn, [audit_event(), audit_event("step.opened")], AT)

    result = await _first_event_at(db, stored)
    assert result.ok is intact
    if not intact:
        assert (result.broken_seq, result.count) == (1, 0)
        assert result.problem == "its content does not match its hash"


async def test_awkward_text_round_trips_and_verifies(db: Database, clock: ManualClock) -> None:
    """What the engines store (no NUL on PostgreSQL) reads back as append hashed it."""
    events = [
        AuditEvent(
            actor=value.replace("\x00", "")[:64] or "x",
            action=audit_event().action,
            case_ref=None,
            step_id=7,
            rationale=value.replace("\x00", ""),
            policy_version=None,
            platform=None,
            data={"value": value.replace("\x00", ""), "nested": {"b": [1, 2.5, None]}},
        )
        for value in AWKWARD
    ]
    async with db.transaction() as conn:
        await audit.append(conn, events, clock.now())
    clock.advance(timedelta(microseconds=1))
    async with db.transaction() as conn:
        await audit.append(conn, [audit_event()], clock.now())

    async with db.reading() as conn:
        result = await audit.verify(conn, batch=2)
    assert result.ok
    assert result.count == len(AWKWARD) + 1


async def test_a_break_in_a_later_batch_is_named(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        await audit.append(conn, [audit_event(f"event.{n}") for n in range(7)], clock.now())
        await allow_audit_tampering(conn)
        await conn.execute(
            update(audit_events).where(audit_events.c.seq == 6).values(actor="mallory")
        )

    async with db.reading() as conn:
        result = await audit.verify(conn, batch=2)
    assert (result.broken_seq, result.count) == (6, 5)


async def test_the_report_checks_contents_from_the_verified_events(
    db: Database, clock: ManualClock
) -> None:
    """check_log takes the `case.filed` events from the chain pass: it finds what
    verify_contents finds reading them itself."""
    request = {
        "amount": 12_500.0,
        "code": "PO-MISSING",
        "currency": "EUR",
        "requester": "alice",
        "title": "Laptops",
    }
    filed: dict[str, Any] = {
        "request": request,
        "request_hash": hashlib.sha256(canonical_json(request).encode()).hexdigest(),
    }
    async with db.transaction() as conn:
        first = await create_case(conn, clock.now(), request=request, **_copied(request, filed))
        second = await create_case(conn, clock.now(), request=request, **_copied(request, filed))
        await audit.append(
            conn,
            [
                audit_event("case.filed", case_ref=f"EXC-{first:06d}", **filed),
                audit_event("step.opened", case_ref=f"EXC-{first:06d}"),
                audit_event("case.filed", case_ref=f"EXC-{second:06d}", **filed),
            ],
            clock.now(),
        )
    async with db.reading() as conn:
        report = await check_log(conn, None)
    assert report.ok
    assert report.contents is not None
    assert report.contents.checked == 2

    async with db.transaction() as conn:
        await conn.execute(update(cases).where(cases.c.id == second).values(amount=1.0))
    async with db.reading() as conn:
        report = await check_log(conn, None)
        alone = await verify_contents(conn)
    assert report.contents == alone
    assert [(p.case_ref, p.field) for p in alone.problems] == [(f"EXC-{second:06d}", "amount")]


def _copied(request: dict[str, Any], filed: dict[str, Any]) -> dict[str, Any]:
    """The case's columns that copy its request (source and external id: None in both)."""
    names = ("code", "title", "requester", "amount", "currency")
    return {name: request[name] for name in names} | {"request_hash": filed["request_hash"]}


async def test_another_driver_reads_the_same_rows_through_sqlalchemy(
    db: Database, clock: ManualClock
) -> None:
    """The fallback for a driver without a fast path (`driver_rows._core`) reads what the
    driver's own cursor reads."""
    async with db.transaction() as conn:
        await audit.append(conn, [audit_event(f"event.{n}") for n in range(5)], clock.now())
    sql = "SELECT seq, at, actor, data, hash FROM audit_events ORDER BY seq"
    async with db.reading() as conn:
        fast = [tuple(row) async for rows in driver_rows.batches(conn, sql, 2) for row in rows]
        core = [tuple(row) async for rows in driver_rows._core(conn, sql, 2) for row in rows]
    assert fast == core
    assert [row[0] for row in fast] == [1, 2, 3, 4, 5]

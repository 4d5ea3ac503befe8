"""Intake throughput on SQLite: the real filing handler next to a raw-SQL floor.

    python -m bench.intake [--count 2000] [--warmup 50] [--block 100] [--policy FILE]
                           [--profile N]

The handler run files N realistic requests one by one through `handlers.filing.file_exception`
(one transaction per case, as in production). The floor writes exactly the same rows per case
with plain aiosqlite: no SQLAlchemy, no pydantic, no policy evaluation; only what a case needs
(the request's JSON and hash, the audit chain with `storage.audit.event_hash`, the head).
Both databases are files in a temp dir, migrated with `storage.migrate.upgrade`, with the
product's durability (WAL, synchronous=FULL, BEGIN IMMEDIATE). The two runs alternate in
blocks of cases so that a drifting machine hurts both alike, and they use the same clock
values, so the two databases must end up with identical rows: the benchmark checks that.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import importlib
import json
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bench._common import (
    command,
    cprofile_lines,
    machine_lines,
    percentile,
    pyinstrument_lines,
)
from handlers.clock import ManualClock
from handlers.commands import FileException
from handlers.context import Actor, Services
from handlers.filing import file_exception
from policy.loader import load_policy
from policy.request import ExceptionRequest
from storage import audit
from storage.audit import GENESIS_HASH, canonical_json, event_hash
from storage.database import Database
from storage.db import SQLITE_BUSY_TIMEOUT_MS
from storage.migrate import upgrade
from storage.records import case_ref

REPO = Path(__file__).resolve().parent.parent
DEFAULT_POLICY = REPO / "policy" / "examples" / "acme.yaml"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TICK = timedelta(milliseconds=250, microseconds=17)  # case i is filed at START + i * TICK
ACTOR = Actor.system("intake:erp", "api")  # an ERP feed files for the requester
REF_MARK = "\x00REF\x00"
TABLES = (
    "cases",
    "steps",
    "assignments",
    "decisions",
    "audit_events",
    "audit_head",
    "outbox",
    "card_refs",
)
WRITTEN = ("cases", "steps", "assignments", "audit_events", "audit_head", "outbox")

# The policy-relevant part of a request cycles through these variants (amount, supplier);
# everything else (title, references, ids, details) differs from case to case.
VARIANTS: tuple[tuple[float, dict[str, Any]], ...] = (
    (32_000.0, {"id": "SUP-1042", "name": "Nordic IT", "risk_score": 40, "on_contract": False}),
    (27_450.5, {"id": "SUP-2211", "name": "Baltic Office Supply", "risk_score": 22}),
    (61_800.0, {"id": "SUP-0308", "name": "Iberia Tech", "risk_score": 55, "on_contract": False}),
    (118_250.0, {"id": "SUP-7730", "name": "Alpine Logistics", "on_contract": True}),
)


def raw_request(i: int) -> dict[str, Any]:
    """Request i as an ERP would post it, keys in the model's field order."""
    amount, supplier = VARIANTS[i % len(VARIANTS)]
    return {
        "code": "OFF_CONTRACT",
        "title": f"Laptops and docking stations for the Lisbon office (PO 45{i:08d})",
        "requester": "priya",
        "amount": amount,
        "currency": "EUR",
        "supplier": dict(supplier),
        "category": "IT hardware",
        "cost_center": "CC-4410",
        "references": {
            "po": f"45{i:08d}",
            "quote": f"Q-2026-{i:06d}",
            "contract_request": f"CR-{i % 997:04d}",
        },
        "details": {
            "lines": 4 + i % 5,
            "reason": "Preferred supplier out of stock; reseller quote attached",
            "delivery_weeks": 2,
        },
        "source": "erp",
        "external_id": f"SAP-EXC-{i:08d}",
    }


def clock_at(i: int) -> datetime:
    return START + i * TICK


def sql_time(at: datetime) -> str:
    """How storage.types.UTCDateTime lands in SQLite (naive UTC, SQLAlchemy's format)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def parse_sql_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def migrated(path: Path) -> Database:
    db = Database.from_url(sqlite_url(path))
    await upgrade(db)
    return db


# --- counting what crosses to SQLite ------------------------------------------------------


class StatementTrace:
    """Counts the SQL statements SQLite runs on a connection (executemany counts each row)."""

    def __init__(self) -> None:
        self.on = False
        self.seen: Counter[str] = Counter()

    def __call__(self, statement: str) -> None:
        if self.on:
            self.seen[statement.split(None, 1)[0].upper()] += 1

    def take(self) -> Counter[str]:
        seen, self.seen = self.seen, Counter()
        return seen


@contextmanager
def round_trips() -> Iterator[Counter[str]]:
    """Counts calls handed to aiosqlite's worker thread, by what they call (cursor, execute...).

    Every aiosqlite call goes through the private `Connection._execute`; if a later aiosqlite
    renames it, the counter simply stays empty.
    """
    seen: Counter[str] = Counter()
    original = getattr(aiosqlite.Connection, "_execute", None)
    if original is None:
        yield seen
        return

    async def counting(
        self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        seen[getattr(fn, "__name__", "?")] += 1
        return await original(self, fn, *args, **kwargs)

    setattr(aiosqlite.Connection, "_execute", counting)  # noqa: B010
    try:
        yield seen
    finally:
        setattr(aiosqlite.Connection, "_execute", original)  # noqa: B010


def describe(counts: Counter[str]) -> str:
    if not counts:
        return "n/a"
    parts = ", ".join(f"{n} {what}" for what, n in sorted(counts.items(), key=lambda x: -x[1]))
    return f"{counts.total()} ({parts})"


# --- what one filing writes, learned from the handler ---------------------------------------


@dataclass(frozen=True, slots=True)
class StepTemplate:
    position: int
    tier: str
    mode: str
    required: int
    status: str
    due_after: timedelta | None  # None: the step is not open yet (no opened_at, no due_at)
    approvers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EventTemplate:
    actor: str
    action: str
    step_position: int | None  # the step whose id the event names
    rationale: str | None
    policy_version: str | None
    platform: str | None
    data_json: str


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    kind: str
    recipient: str | None
    payload: str  # JSON text, REF_MARK standing for the case's ref
    status: str
    attempts: int

    @property
    def tail(self) -> tuple[str, int]:
        return self.status, self.attempts


@dataclass(frozen=True, slots=True)
class CaseTemplate:
    """The policy-derived part of a case's rows: what the floor copies instead of evaluating."""

    status: str
    outcome: str
    rules: str
    skipped_rules: str
    flags: str
    rationale_required: int
    policy_version: str
    closed: bool
    steps: tuple[StepTemplate, ...]
    events: tuple[EventTemplate, ...]
    messages: tuple[MessageTemplate, ...]


def _template(db: sqlite3.Connection, case_id: int) -> CaseTemplate:
    ref = case_ref(case_id)
    row = db.execute(
        "SELECT status, outcome, rules, skipped_rules, flags, rationale_required, policy_version,"
        " closed_at, created_at FROM cases WHERE id = ?",
        (case_id,),
    ).fetchone()
    people: dict[int, list[str]] = {}
    for step_id, person in db.execute(
        "SELECT step_id, person FROM assignments WHERE case_id = ? ORDER BY step_id, ordinal",
        (case_id,),
    ):
        people.setdefault(step_id, []).append(person)
    steps: list[StepTemplate] = []
    position_of: dict[int, int] = {}
    for step_id, position, tier, mode, required, status, opened_at, due_at in db.execute(
        "SELECT id, position, tier, mode, required, status, opened_at, due_at FROM steps"
        " WHERE case_id = ? ORDER BY position",
        (case_id,),
    ):
        position_of[step_id] = position
        due_after = None
        if opened_at is not None:
            if opened_at != row[8]:
                raise SystemExit("a step opened at another time than its case: extend the floor")
            due_after = parse_sql_time(due_at) - parse_sql_time(opened_at)
        approvers = tuple(people.get(step_id, ()))
        steps.append(StepTemplate(position, tier, mode, required, status, due_after, approvers))
    events = [
        EventTemplate(
            actor,
            action,
            None if step_id is None else position_of[step_id],
            rationale,
            version,
            platform,
            data,
        )
        for actor, action, step_id, rationale, version, platform, data in db.execute(
            "SELECT actor, action, step_id, rationale, policy_version, platform, data"
            " FROM audit_events WHERE case_ref = ? ORDER BY seq",
            (ref,),
        )
    ]
    messages = [
        MessageTemplate(kind, recipient, payload.replace(ref, REF_MARK), status, attempts)
        for kind, recipient, payload, status, attempts in db.execute(
            "SELECT kind, recipient, payload, status, attempts FROM outbox"
            " WHERE case_id = ? ORDER BY id",
            (case_id,),
        )
    ]
    return CaseTemplate(
        status=row[0],
        outcome=row[1],
        rules=row[2],
        skipped_rules=row[3],
        flags=row[4],
        rationale_required=row[5],
        policy_version=row[6],
        closed=row[7] is not None,
        steps=tuple(steps),
        events=tuple(events),
        messages=tuple(messages),
    )


@dataclass(frozen=True, slots=True)
class Probe:
    rows: dict[str, int]  # rows per table after the first filing into an empty database
    templates: tuple[CaseTemplate, ...]  # one per request variant
    statements: Counter[str]  # SQL statements of one filing (steady state)
    trips: Counter[str]  # calls handed to the aiosqlite thread by one filing (steady state)


async def probe(workdir: Path, policy_file: Path) -> Probe:
    """File one request of each variant through the handler; read back what it wrote."""
    path = workdir / "probe.db"
    db = await migrated(path)
    trace = StatementTrace()
    async with db.engine.connect() as conn:  # sequential use: the pool keeps this connection
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, aiosqlite.Connection)
        await driver.set_trace_callback(trace)
    clock = ManualClock(START)
    services = Services(db, load_policy(policy_file), clock)
    first: dict[str, int] = {}
    trips: Counter[str] = Counter()
    try:
        for i in range(len(VARIANTS)):
            clock.set(clock_at(i))
            cmd = FileException(ExceptionRequest.model_validate(raw_request(i)))
            trace.on = True
            with round_trips() as trips:
                result = await file_exception(services, ACTOR, cmd)
            trace.on = False
            statements = trace.take()
            assert result.created
            if i == 0:
                first = await _row_counts(db)
    finally:
        await db.dispose()
    with sqlite3.connect(path) as plain:
        templates = tuple(_template(plain, i + 1) for i in range(len(VARIANTS)))
        total = {t: plain.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in WRITTEN}
    plain.close()
    for table in WRITTEN:
        expected = 1 if table == "audit_head" else first[table] * len(VARIANTS)
        if total[table] != expected:
            raise SystemExit(f"the variants write different row counts into {table}")
    for template in templates:
        if template.outcome != "route" or not 1 <= len(template.steps) <= 2:
            raise SystemExit(
                f"the benchmark request must take a routed path with 1-2 steps under "
                f"{policy_file}; it got outcome {template.outcome} with "
                f"{len(template.steps)} steps"
            )
    return Probe(first, templates, statements, trips)


async def _row_counts(db: Database) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with db.engine.connect() as conn:
        for table in WRITTEN:
            result = await conn.exec_driver_sql(f"SELECT count(*) FROM {table}")
            counts[table] = int(result.scalar_one())
    return counts


# --- the handler ----------------------------------------------------------------------------


class HandlerRun:
    """Files case i through the real handler, at clock_at(i)."""

    def __init__(self, db: Database, policy_file: Path, commands: Sequence[FileException]):
        self.db = db
        self.clock = ManualClock(START)
        self.services = Services(db, load_policy(policy_file), self.clock)
        self.commands = commands

    @classmethod
    async def open(
        cls, path: Path, policy_file: Path, commands: Sequence[FileException]
    ) -> HandlerRun:
        return cls(await migrated(path), policy_file, commands)

    async def file(self, i: int) -> None:
        self.clock.set(clock_at(i))
        result = await file_exception(self.services, ACTOR, self.commands[i])
        if not result.created:
            raise SystemExit(f"request {i} was deduplicated; external ids must be unique")

    async def close(self) -> None:
        await self.db.dispose()


# --- the floor ------------------------------------------------------------------------------

INSERT_CASE = (
    "INSERT INTO cases (status, code, title, requester, amount, currency, request, outcome,"
    " rules, skipped_rules, flags, rationale_required, policy_version, source, external_id,"
    " idempotency_key, request_hash, created_at, updated_at, closed_at, version)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
)
INSERT_STEP = (
    "INSERT INTO steps (case_id, position, tier, mode, required, status, opened_at, due_at,"
    " closed_at, policy_version, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, 1)"
)
INSERT_ASSIGNMENT = (
    "INSERT INTO assignments (step_id, person, case_id, ordinal) VALUES (?, ?, ?, ?)"
)
INSERT_EVENT = (
    "INSERT INTO audit_events (seq, at, actor, action, case_ref, step_id, rationale,"
    " policy_version, platform, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPDATE_HEAD = "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"
INSERT_HEAD = "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)"
INSERT_MESSAGE = (
    "INSERT INTO outbox (created_at, kind, case_id, recipient, payload, status, attempts,"
    " next_attempt_at, delivered_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)"
)


async def floor_file(
    conn: aiosqlite.Connection, request: dict[str, Any], tpl: CaseTemplate, now: datetime
) -> None:
    """One case, its steps, assignments, audit events and messages, in one transaction."""
    at = sql_time(now)
    request_json = json.dumps(request)  # what SQLAlchemy's JSON type stores
    request_hash = hashlib.sha256(canonical_json(request).encode()).hexdigest()
    await conn.execute("BEGIN IMMEDIATE")
    try:
        head = list(await conn.execute_fetchall("SELECT seq, hash FROM audit_head"))
        cursor = await conn.execute(
            INSERT_CASE,
            (
                tpl.status,
                request["code"],
                request["title"],
                request["requester"],
                request.get("amount"),
                request.get("currency"),
                request_json,
                tpl.outcome,
                tpl.rules,
                tpl.skipped_rules,
                tpl.flags,
                tpl.rationale_required,
                tpl.policy_version,
                request.get("source"),
                request.get("external_id"),
                None,
                request_hash,
                at,
                at,
                at if tpl.closed else None,
            ),
        )
        case_id = cursor.lastrowid
        assert case_id is not None
        ref = case_ref(case_id)
        step_ids: dict[int, int] = {}
        assignments: list[tuple[int, str, int, int]] = []
        for step in tpl.steps:
            due_at = None if step.due_after is None else sql_time(now + step.due_after)
            cursor = await conn.execute(
                INSERT_STEP,
                (
                    case_id,
                    step.position,
                    step.tier,
                    step.mode,
                    step.required,
                    step.status,
                    None if due_at is None else at,
                    due_at,
                    tpl.policy_version,
                ),
            )
            step_id = cursor.lastrowid
            assert step_id is not None
            step_ids[step.position] = step_id
            assignments += [(step_id, p, case_id, n) for n, p in enumerate(step.approvers)]
        if assignments:
            await conn.executemany(INSERT_ASSIGNMENT, assignments)
        seq, prev = (head[0][0], head[0][1]) if head else (0, GENESIS_HASH)
        events = []
        for event in tpl.events:
            seq += 1
            step_id = None if event.step_position is None else step_ids[event.step_position]
            digest = event_hash(
                prev_hash=prev,
                seq=seq,
                at=now,
                actor=event.actor,
                action=event.action,
                case_ref=ref,
                step_id=step_id,
                rationale=event.rationale,
                policy_version=event.policy_version,
                platform=event.platform,
                data_json=event.data_json,
            )
            events.append(
                (
                    seq,
                    at,
                    event.actor,
                    event.action,
                    ref,
                    step_id,
                    event.rationale,
                    event.policy_version,
                    event.platform,
                    event.data_json,
                    prev,
                    digest,
                )
            )
            prev = digest
        await conn.executemany(INSERT_EVENT, events)
        if head:
            await conn.execute(UPDATE_HEAD, (seq, prev))
        else:
            await conn.execute(INSERT_HEAD, (seq, prev))
        messages = [
            (at, m.kind, case_id, m.recipient, m.payload.replace(REF_MARK, ref), *m.tail, at)
            for m in tpl.messages
        ]
        if messages:
            await conn.executemany(INSERT_MESSAGE, messages)
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise


class FloorRun:
    """Writes case i's rows with raw SQL on a connection set up like storage.db's."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        requests: Sequence[dict[str, Any]],
        templates: Sequence[CaseTemplate],
    ):
        self.conn = conn
        self.requests = requests
        self.templates = templates
        self.trace = StatementTrace()

    @classmethod
    async def open(
        cls, path: Path, requests: Sequence[dict[str, Any]], templates: Sequence[CaseTemplate]
    ) -> FloorRun:
        db = await migrated(path)  # the same schema, made the same way
        await db.dispose()
        conn = await aiosqlite.connect(path, isolation_level=None)
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA synchronous=FULL")
        run = cls(conn, requests, templates)
        await conn.set_trace_callback(run.trace)
        return run

    async def file(self, i: int) -> None:
        template = self.templates[i % len(self.templates)]
        await floor_file(self.conn, self.requests[i], template, clock_at(i))

    async def close(self) -> None:
        await self.conn.close()


# --- measuring, checking, reporting -------------------------------------------------------


async def timed(file: Callable[[int], Awaitable[None]], cases: range) -> list[float]:
    latencies = []
    for i in cases:
        started = time.perf_counter()
        await file(i)
        latencies.append(time.perf_counter() - started)
    return latencies


def compare(handler_db: Path, floor_db: Path) -> tuple[bool, int, str]:
    """Are the two databases' rows identical? (same, rows compared, first difference)"""
    compared = 0
    with sqlite3.connect(handler_db) as one, sqlite3.connect(floor_db) as two:
        for table in TABLES:
            query = f"SELECT * FROM {table} ORDER BY 1, 2"
            left, right = one.execute(query).fetchall(), two.execute(query).fetchall()
            if len(left) != len(right):
                return False, compared, f"{table}: {len(left)} rows vs {len(right)}"
            for a, b in zip(left, right, strict=True):
                if a != b:
                    return False, compared, f"{table}:\n  handler {a}\n  floor   {b}"
            compared += len(left)
    one.close()
    two.close()
    return True, compared, ""


async def verify_chain(path: Path) -> audit.VerifyResult:
    db = Database.from_url(sqlite_url(path))
    try:
        async with db.reading() as conn:
            return await audit.verify(conn)
    finally:
        await db.dispose()


def summary(name: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    total = sum(latencies)
    return (
        f"  {name:<8} {len(latencies) / total:>9.1f} {1000 * percentile(ordered, 0.5):>8.2f}"
        f" {1000 * percentile(ordered, 0.99):>8.2f} {total:>9.2f}"
    )


async def profile_handler(
    path: Path, policy_file: Path, commands: Sequence[FileException]
) -> list[str]:
    """Profile the handler over `commands` on a fresh database (after 20 untimed filings).

    pyinstrument (sampling, async-aware) when importable, else cProfile from the stdlib.
    """
    run = await HandlerRun.open(path, policy_file, commands)
    try:
        for i in range(min(20, len(commands))):
            await run.file(i)
        try:
            pyinstrument = importlib.import_module("pyinstrument")
        except ImportError:
            profiler = cProfile.Profile()
            for i in range(20, len(commands)):
                profiler.enable()
                await run.file(i)
                profiler.disable()
            return cprofile_lines(profiler)
        sampler = pyinstrument.Profiler(interval=0.0005, async_mode="enabled")
        sampler.start()
        for i in range(20, len(commands)):
            await run.file(i)
        session = sampler.stop()
        return pyinstrument_lines(session.root_frame())
    finally:
        await run.close()


async def main_async(args: argparse.Namespace, policy_file: Path) -> int:
    total = args.warmup + args.count
    requests = [raw_request(i) for i in range(total)]
    commands = []
    for request in requests:  # validated at the edge, before the handler, as in production
        model = ExceptionRequest.model_validate(request)
        if json.dumps(model.model_dump(mode="json", exclude_none=True)) != json.dumps(request):
            raise SystemExit("raw_request() must list the fields in the model's order")
        commands.append(FileException(model))

    print("bench.intake: filing throughput on SQLite, the real handler next to a raw-SQL floor")
    print(f"command:  {command('bench.intake')}")
    for line in machine_lines():
        print(line)
    print(f"database: one SQLite file each under {tempfile.gettempdir()}, migrated; WAL,")
    print("          synchronous=FULL, BEGIN IMMEDIATE; one case per transaction, sequential")
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        workdir = Path(tmp)
        found = await probe(workdir, policy_file)
        shown = policy_file.relative_to(REPO) if policy_file.is_relative_to(REPO) else policy_file
        tpl = found.templates[0]
        route = " -> ".join(f"{s.tier} ({', '.join(s.approvers)})" for s in tpl.steps)
        fired = ", ".join(rule["id"] for rule in json.loads(tpl.rules))
        print(f"policy:   {shown}; fired: {fired}")
        print(f"          route: {route}")
        print("request:  OFF_CONTRACT from an ERP (source + external_id): amount, supplier,")
        print(f"          3 references, 3 details; {len(VARIANTS)} amount/supplier variants")
        counts = ", ".join(f"{t} {n}" for t, n in found.rows.items() if t != "audit_head")
        print(f"rows per filing: {counts}")
        print(
            f"                 audit_head {found.rows['audit_head']} (inserted once, then updated)"
        )

        handler = await HandlerRun.open(workdir / "handler.db", policy_file, commands)
        floor = await FloorRun.open(workdir / "floor.db", requests, found.templates)
        try:
            for i in range(args.warmup):
                await handler.file(i)
                floor.trace.on = i == args.warmup - 1  # steady state: the head exists
                with round_trips() as floor_trips:
                    await floor.file(i)
                floor.trace.on = False
            floor_statements = floor.trace.take()
            handler_latencies: list[float] = []
            floor_latencies: list[float] = []
            for first in range(args.warmup, total, args.block):
                block = range(first, min(first + args.block, total))
                handler_latencies += await timed(handler.file, block)
                floor_latencies += await timed(floor.file, block)
        finally:
            await handler.close()
            await floor.close()

        print("SQL statements per filing (SQLite's trace; executemany counts each row):")
        print(f"  handler {describe(found.statements)}")
        print(f"  floor   {describe(floor_statements)}")
        print("calls handed to the aiosqlite worker thread per filing:")
        print(f"  handler {describe(found.trips)}")
        print(f"  floor   {describe(floor_trips)}")
        print(
            f"timed:    {args.count} cases each after {args.warmup} warm-up cases each, "
            f"alternating in blocks of {args.block}"
        )
        print(f"  {'':<8} {'cases/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'total s':>9}")
        print(summary("handler", handler_latencies))
        print(summary("floor", floor_latencies))
        ratio = sum(floor_latencies) / sum(handler_latencies)
        verdict = "meets" if ratio >= 0.5 else "BELOW"
        print(f"ratio handler/floor: {ratio:.2f} ({verdict} the goal of >= 0.5)")

        same, rows, difference = compare(workdir / "handler.db", workdir / "floor.db")
        chain = await verify_chain(workdir / "floor.db")
        if same:
            print(f"check:    floor rows == handler rows ({rows} rows in {len(TABLES)} tables)")
        else:
            print(f"check:    FLOOR ROWS DIFFER from the handler's, first in {difference}")
        print(
            f"          floor chain passes storage.audit.verify: {chain.ok}, {chain.count} events"
        )

        if args.profile:
            profiled = [
                FileException(ExceptionRequest.model_validate(raw_request(i)))
                for i in range(args.profile + 20)
            ]
            print(f"profile of {len(profiled) - 20} handler filings, fresh database:")
            for line in await profile_handler(workdir / "profile.db", policy_file, profiled):
                print(line)
    return 0 if same and chain.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.intake",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--count", type=int, default=2000, help="timed cases per run")
    parser.add_argument("--warmup", type=int, default=50, help="untimed cases first, per run")
    parser.add_argument("--block", type=int, default=100, help="cases per alternation block")
    parser.add_argument("--policy", default=str(DEFAULT_POLICY), help="the policy file")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="also profile N handler filings"
    )
    args = parser.parse_args(argv)
    if args.count < 1 or args.warmup < 2 or args.block < 1 or args.profile < 0:
        parser.error("need --count >= 1, --warmup >= 2, --block >= 1, --profile >= 0")
    return asyncio.run(main_async(args, Path(args.policy).resolve()))


if __name__ == "__main__":
    sys.exit(main())

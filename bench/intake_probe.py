"""What one handler filing writes, learned by filing through the handler and reading it back.

`probe` files one request of each variant into a fresh database and returns, per variant, a
`CaseTemplate`: the policy-derived part of the rows (status, rules, steps, approvers, audit
events, messages), which the raw-SQL floor copies instead of evaluating the policy. It also
counts the SQL statements and aiosqlite round trips of one filing in the steady state.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiosqlite

from bench.intake_workload import (
    ACTOR,
    START,
    VARIANTS,
    clock_at,
    migrated,
    parse_sql_time,
    raw_request,
)
from bench.tracing import StatementTrace, round_trips
from handlers.clock import ManualClock
from handlers.commands import FileException
from handlers.context import Services
from handlers.filing import file_exception
from policy.loader import load_policy
from policy.request import ExceptionRequest
from storage.audit import canonical_json
from storage.database import Database
from storage.records import case_ref

REF_MARK = "\x00REF\x00"  # stands for the case's ref in a message template's payload
# In an event template's data: the case's canonical request JSON and its SHA-256 (case.filed
# records them, decisions the hash), which differ from case to case.
REQUEST_MARK = "\x00REQUEST\x00"
HASH_MARK = "\x00HASH\x00"
WRITTEN = ("cases", "steps", "assignments", "audit_events", "audit_head", "outbox")


@dataclass(frozen=True, slots=True)
class StepTemplate:
    position: int
    tier: str
    mode: str
    required: int
    status: str
    due_after: timedelta | None  # None: the step is not open yet (no opened_at, no due_at)
    approvers: tuple[str, ...]
    next_action_after: timedelta | None = None  # when the overdue sweep first looks at it


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
    due_after: timedelta | None  # the case's own due time (its code's SLA) after filing
    basis: str
    steps: tuple[StepTemplate, ...]
    events: tuple[EventTemplate, ...]
    messages: tuple[MessageTemplate, ...]


def _template(db: sqlite3.Connection, case_id: int) -> CaseTemplate:
    ref = case_ref(case_id)
    row = db.execute(
        "SELECT status, outcome, rules, skipped_rules, flags, rationale_required, policy_version,"
        " closed_at, created_at, due_at, basis, request, request_hash FROM cases WHERE id = ?",
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
    for (
        step_id,
        position,
        tier,
        mode,
        required,
        status,
        opened_at,
        due_at,
        next_action,
    ) in db.execute(
        "SELECT id, position, tier, mode, required, status, opened_at, due_at, next_action_at"
        " FROM steps WHERE case_id = ? ORDER BY position",
        (case_id,),
    ):
        position_of[step_id] = position
        due_after = None
        if opened_at is not None:
            if opened_at != row[8]:
                raise SystemExit("a step opened at another time than its case: extend the floor")
            due_after = parse_sql_time(due_at) - parse_sql_time(opened_at)
        approvers = tuple(people.get(step_id, ()))
        next_after = None
        if next_action is not None:
            next_after = parse_sql_time(next_action) - parse_sql_time(row[8])
        steps.append(
            StepTemplate(position, tier, mode, required, status, due_after, approvers, next_after)
        )
    request_json = canonical_json(json.loads(row[11]))
    events = [
        EventTemplate(
            actor,
            action,
            None if step_id is None else position_of[step_id],
            rationale,
            version,
            platform,
            data.replace(request_json, REQUEST_MARK).replace(row[12], HASH_MARK),
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
        due_after=None if row[9] is None else parse_sql_time(row[9]) - parse_sql_time(row[8]),
        basis=row[10],
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

"""The raw-SQL floor: a case's rows written with plain aiosqlite, as cheaply as they can be.

No SQLAlchemy, no pydantic, no policy evaluation: the policy-derived part of the rows comes
from a `CaseTemplate` probed from the handler; the floor adds only what a case needs (the
request's JSON and hash, the audit chain with `storage.audit.event_hash`, the head), with the
product's durability (WAL, synchronous=FULL, BEGIN IMMEDIATE).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bench.intake_probe import HASH_MARK, REF_MARK, REQUEST_MARK, CaseTemplate
from bench.intake_workload import clock_at, migrated, sql_time
from bench.tracing import StatementTrace
from storage.audit import GENESIS_HASH, canonical_json, event_hash
from storage.db import SQLITE_BUSY_TIMEOUT_MS
from storage.records import case_ref

INSERT_CASE = (
    "INSERT INTO cases (status, code, title, requester, amount, currency, request, outcome,"
    " rules, skipped_rules, flags, rationale_required, policy_version, source, external_id,"
    " idempotency_key, request_hash, created_at, updated_at, closed_at, version, due_at, basis)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"
)
INSERT_STEP = (
    "INSERT INTO steps (case_id, position, tier, mode, required, status, opened_at, due_at,"
    " closed_at, policy_version, version, next_action_at, clock_started_at, former_approvers)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, 1, ?, ?, '[]')"
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
                None if tpl.due_after is None else sql_time(now + tpl.due_after),
                tpl.basis,
            ),
        )
        case_id = cursor.lastrowid
        assert case_id is not None
        ref = case_ref(case_id)
        step_ids: dict[int, int] = {}
        assignments: list[tuple[int, str, int, int]] = []
        for step in tpl.steps:
            due_at = None if step.due_after is None else sql_time(now + step.due_after)
            next_action = (
                None if step.next_action_after is None else sql_time(now + step.next_action_after)
            )
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
                    next_action,
                    None if due_at is None else at,
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
        canonical_request = canonical_json(request)
        for event in tpl.events:
            seq += 1
            data_json = event.data_json.replace(REQUEST_MARK, canonical_request).replace(
                HASH_MARK, request_hash
            )
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
                data_json=data_json,
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
                    data_json,
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

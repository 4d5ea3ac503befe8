"""The raw-SQL floor: a case's rows written with plain aiosqlite, as cheaply as they can be.

No SQLAlchemy, no pydantic, no policy evaluation: the policy-derived part of the rows comes
from a `CaseTemplate` probed from the handler; the floor adds only what a case needs (the
request's JSON and hash, the audit chain with `storage.audit.event_hash`, the head), with the
product's durability (WAL, synchronous=FULL, BEGIN IMMEDIATE). And it makes the reads the
handler must make, as raw SQL: the earlier filing of the same event (found, the filing writes
nothing), who is away (someone away would need delegates the templates lack), the policy's
aggregates over recent cases (one statement; their count, sum and newest ids go into
policy.evaluated's data) and the code's remediation check
(an open item ends it; else the last close and the code's recent cases), opening the item
(its row, audit event and messages, the evidence built from the cases it counted) when the
filing crosses the threshold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bench.intake_floor_reads import (
    REQUEST_AT,
    aggregates_json,
    away_now,
    earlier_filing,
    remediation_check,
)
from bench.intake_templates import (
    AGGREGATES_MARK,
    EVIDENCE_MARK,
    HASH_MARK,
    ITEM_ID_MARK,
    ITEM_MARK,
    REF_MARK,
    REQUEST_MARK,
    AggregateTemplate,
    CaseTemplate,
    EventTemplate,
    RemediationTemplate,
)
from bench.intake_workload import ACTOR, clock_at, migrated, sql_time
from bench.tracing import StatementTrace
from policy.amendments import content_of
from policy.remediation import item_ref
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

# What the floor reads besides the audit head: the policy's aggregates, the code's threshold.
Reads = tuple[Sequence[AggregateTemplate], RemediationTemplate | None]


async def floor_file(
    conn: aiosqlite.Connection,
    request: dict[str, Any],
    tpl: CaseTemplate,
    reads: Reads,
    now: datetime,
    *,
    key: str | None = None,
    by_person: bool = False,
) -> bool:
    """One case, its steps, assignments, audit events and messages, in one transaction, with
    the reads the handler makes (the earlier filing of the event, by `key` (Idempotency-Key),
    source and external id, or, `by_person`, the repeat check; who is away; `reads`: the
    policy's aggregates and the code's remediation threshold) and the remediation item when
    this case crosses the threshold. False if an earlier filing was found: nothing written."""
    aggregates, remediation = reads
    at = sql_time(now)
    request_json = json.dumps(request)  # what SQLAlchemy's JSON type stores
    canonical_request = canonical_json(request)
    request_hash = hashlib.sha256(canonical_request.encode()).hexdigest()
    await conn.execute("BEGIN IMMEDIATE")
    try:
        earlier = await earlier_filing(conn, request, request_hash, now, key, by_person)
        if earlier is not None:
            if content_of(json.loads(earlier[REQUEST_AT])) != content_of(request):
                raise SystemExit("the handler amends or refuses this repost; the floor cannot")
            await conn.execute("COMMIT")  # as the handler's unit: it returns the earlier case
            return False
        if await away_now(conn, now):
            raise SystemExit("someone is away: the handler routes to delegates; the floor cannot")
        # Before the case goes in: the totals are over the cases filed before it.
        totals = await aggregates_json(conn, aggregates, request, now)
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
                key,
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
        # After the case went in: it counts towards its code's threshold.
        item = None if remediation is None else await remediation_check(conn, remediation, now)
        events: list[tuple[EventTemplate, str, int | None, str]] = []
        for event in tpl.events:
            data_json = event.data_json.replace(REQUEST_MARK, canonical_request).replace(
                HASH_MARK, request_hash
            )
            if AGGREGATES_MARK in data_json:
                if totals is None:
                    raise SystemExit("the floor read no aggregate the handler did: extend it")
                data_json = data_json.replace(AGGREGATES_MARK, totals)
            step_id = None if event.step_position is None else step_ids[event.step_position]
            events.append((event, ref, step_id, data_json))
        messages: list[tuple[str, str, int | None, str | None, str, str, int, str]] = [
            (at, m.kind, case_id, m.recipient, m.payload.replace(REF_MARK, ref), *m.tail, at)
            for m in tpl.messages
        ]
        if item is not None and remediation is not None and remediation.opening is not None:
            opening, item_ref_text = remediation.opening, item_ref(item.id)
            evidence = opening.event.data_json.replace(EVIDENCE_MARK, canonical_json(item.evidence))
            events.append((opening.event, item_ref_text, None, evidence))
            messages += [
                (
                    at,
                    m.kind,
                    None,
                    m.recipient,
                    m.payload.replace(ITEM_MARK, item_ref_text).replace(ITEM_ID_MARK, str(item.id)),
                    *m.tail,
                    at,
                )
                for m in opening.messages
            ]
        if messages:
            await conn.executemany(INSERT_MESSAGE, messages)
        await _append(conn, events, now)
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    return True


async def _append(
    conn: aiosqlite.Connection,
    events: Sequence[tuple[EventTemplate, str, int | None, str]],
    now: datetime,
) -> None:
    """The events (template, case ref, step id, data) on the audit chain, and the new head."""
    at = sql_time(now)
    head = list(await conn.execute_fetchall("SELECT seq, hash FROM audit_head"))
    seq, prev = (head[0][0], head[0][1]) if head else (0, GENESIS_HASH)
    rows = []
    for event, ref, step_id, data_json in events:
        seq += 1
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
        rows.append(
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
    await conn.executemany(INSERT_EVENT, rows)
    if head:
        await conn.execute(UPDATE_HEAD, (seq, prev))
    else:
        await conn.execute(INSERT_HEAD, (seq, prev))


class FloorRun:
    """Writes case i's rows with raw SQL on a connection set up like storage.db's."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        requests: Sequence[dict[str, Any]],
        templates: Sequence[CaseTemplate],
        reads: Reads,
    ):
        self.conn = conn
        self.requests = requests
        self.templates = templates
        self.reads = reads
        self.trace = StatementTrace()

    @classmethod
    async def open(
        cls,
        path: Path,
        requests: Sequence[dict[str, Any]],
        templates: Sequence[CaseTemplate],
        reads: Reads,
    ) -> FloorRun:
        db = await migrated(path)  # the same schema, made the same way
        await db.dispose()
        conn = await aiosqlite.connect(path, isolation_level=None)
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA synchronous=FULL")
        run = cls(conn, requests, templates, reads)
        await conn.set_trace_callback(run.trace)
        return run

    async def file(self, i: int) -> None:
        template = self.templates[i % len(self.templates)]
        # As the handler run files: by the ERP feed (not a person), without an Idempotency-Key.
        created = await floor_file(
            self.conn,
            self.requests[i],
            template,
            self.reads,
            clock_at(i),
            by_person=ACTOR.is_person,
        )
        if not created:
            raise SystemExit(f"request {i} was deduplicated; external ids must be unique")

    async def close(self) -> None:
        await self.conn.close()

"""The tamper-evident audit log: every event is hash-chained to the one before.

hash = SHA-256(prev_hash || canonical(event)), where canonical() is JSON with sorted keys and
no whitespace over every field an auditor reads. The database refuses UPDATE and DELETE
outright (triggers; TRUNCATE too on PostgreSQL), and `verify` recomputes the whole chain.

What `verify` detects, once someone gets past the triggers: an edited event (any field),
an event inserted or removed anywhere but the end, and events cut off the end while the head
(`audit_head`) still names them. What it cannot detect alone: events cut off the end with the
head rewritten to match, or the whole log deleted; a chain with nothing outside it cannot
notice. That takes a checkpoint kept outside the database (`storage.audit_checkpoint`).
Whether the cases still hold what was filed is `storage.audit_content`.

Appends must be serialized, and only appends are: on PostgreSQL `append` takes `CHAIN_LOCK`
(an advisory lock, held until the transaction ends) right before it reads the head, in the
server (`storage.audit_server`), so writers run their own work side by side and queue only for
reading the head, inserting the events, moving the head and committing. That is why every
unit appends its events last. A transaction that appends nothing takes no lock. SQLite needs
none: it has one writer at a time (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from policy.effects import AuditEvent as AuditEvent
from storage.tables import audit_events, audit_head

GENESIS_HASH = "0" * 64
CHAIN_LOCK = 0x61756469  # pg_advisory_xact_lock key shared by every appender
_LOCK_CHAIN = text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=CHAIN_LOCK)
# conn.info key: the events a write transaction appended, handed on when it commits.
APPENDED = "approvals.appended"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: datetime
    actor: str
    action: str
    case_ref: str | None
    step_id: int | None
    rationale: str | None
    policy_version: str | None
    platform: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def format_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    case_ref: str | None,
    step_id: int | None,
    rationale: str | None,
    policy_version: str | None,
    platform: str | None,
    data_json: str,
) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "at": format_time(at),
            "actor": actor,
            "action": action,
            "case": case_ref,
            "step": step_id,
            "rationale": rationale,
            "policy_version": policy_version,
            "platform": platform,
            "data": data_json,
        }
    )
    return hashlib.sha256(prev_hash.encode("ascii") + body.encode("utf-8")).hexdigest()


def row_hash(prev_hash: str, row: Mapping[Any, Any]) -> str:
    """The hash of an audit_events row (its column values), chained after `prev_hash`."""
    return event_hash(
        prev_hash=prev_hash,
        seq=row["seq"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        case_ref=row["case_ref"],
        step_id=row["step_id"],
        rationale=row["rationale"],
        policy_version=row["policy_version"],
        platform=row["platform"],
        data_json=row["data"],
    )


async def lock_chain(conn: AsyncConnection) -> None:
    """Hold the chain until this transaction ends: no other appender reads the head meanwhile.

    Taking it again in the same transaction is free (PostgreSQL counts it); on SQLite the
    writer already holds the database's one write lock.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(_LOCK_CHAIN)


async def append(conn: AsyncConnection, events: list[AuditEvent], at: datetime) -> None:
    """Append events in order, chained after the current head, under the chain lock. Call it
    last in the transaction: the lock is held from here to the commit."""
    if not events:
        return  # nothing to chain, so no lock either
    if (appended := conn.info.get(APPENDED)) is not None:
        appended.extend(events)  # for Database's commit listener (storage.database)
    if conn.dialect.name == "postgresql":
        # In the server, lock included: no client round trip while the lock is held but the
        # commit (storage.audit_server). Imported here: that module imports this one.
        from storage import audit_server

        await audit_server.append(conn, events, at)
        return
    await lock_chain(conn)  # SQLite: nothing to take, its writer is the only one
    head = (await conn.execute(select(audit_head.c.seq, audit_head.c.hash))).first()
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    rows = []
    for event in events:
        seq += 1
        row = chained_row(seq, prev, event, at)
        prev = row["hash"]
        rows.append(row)
    await conn.execute(insert(audit_events), rows)
    if head is None:
        await conn.execute(insert(audit_head).values(id=1, seq=seq, hash=prev))
    else:
        await conn.execute(
            update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=prev)
        )


def chained_row(seq: int, prev: str, event: AuditEvent, at: datetime) -> dict[str, Any]:
    """The audit_events row of `event` as number `seq` after `prev`, its hash included."""
    row: dict[str, Any] = {
        "seq": seq,
        "at": at,
        "actor": event.actor,
        "action": str(event.action),
        "case_ref": event.case_ref,
        "step_id": event.step_id,
        "rationale": event.rationale,
        "policy_version": event.policy_version,
        "platform": event.platform,
        "data": canonical_json(dict(event.data)),
        "prev_hash": prev,
    }
    row["hash"] = row_hash(prev, row)
    return row


def _record(row: Any) -> AuditRecord:
    return AuditRecord(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        case_ref=row.case_ref,
        step_id=row.step_id,
        rationale=row.rationale,
        policy_version=row.policy_version,
        platform=row.platform,
        data=json.loads(row.data),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


async def events_for_case(conn: AsyncConnection, case_ref: str) -> list[AuditRecord]:
    result = await conn.execute(
        select(audit_events).where(audit_events.c.case_ref == case_ref).order_by(audit_events.c.seq)
    )
    return [_record(row) for row in result]


async def events_for_cases(
    conn: AsyncConnection, case_refs: Sequence[str]
) -> dict[str, list[AuditRecord]]:
    """The events of each of `case_refs`, in chain order: one query for a page of cases."""
    found: dict[str, list[AuditRecord]] = {ref: [] for ref in case_refs}
    if not case_refs:
        return found
    result = await conn.execute(
        select(audit_events)
        .where(audit_events.c.case_ref.in_(list(case_refs)))
        .order_by(audit_events.c.seq)
    )
    for row in result:
        found[row.case_ref].append(_record(row))
    return found


async def stream_events(
    conn: AsyncConnection,
    *,
    case_ref: str | None = None,
    since: datetime | None = None,
    through: int | None = None,
    batch: int = 5000,
) -> AsyncIterator[AuditRecord]:
    """Every event in chain order, optionally filtered, without loading the log into memory."""
    query = select(audit_events).order_by(audit_events.c.seq)
    if through is not None:
        query = query.where(audit_events.c.seq <= through)
    if case_ref is not None:
        query = query.where(audit_events.c.case_ref == case_ref)
    if since is not None:
        query = query.where(audit_events.c.at >= since)
    result = await conn.stream(query.execution_options(yield_per=batch))
    async for row in result:
        yield _record(row)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    count: int
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None and self.problem is None


async def verify(conn: AsyncConnection, batch: int | None = None) -> VerifyResult:
    """Recompute the chain from the first event; name the first event that does not fit.

    The work is in `storage.audit_verify` (imported here, not at the top: it imports this
    module)."""
    from storage import audit_verify

    return await audit_verify.verify(conn, batch or audit_verify.BATCH)

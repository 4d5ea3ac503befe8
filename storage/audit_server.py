"""Appending to the audit chain on PostgreSQL in one statement, so the chain's lock is held
for no client round trip but the commit.

Replicas (and the requests of one replica) write side by side; only appends queue, for the
chain's advisory lock, held from the append to the commit. Were the lock taken by the client
and the head read, the events inserted and the head moved statement by statement, every
statement would wait for its process's event loop to come round while the lock is held, and
a busy process would hold everyone up (measured: two replicas filed half what one did). So
the function `approvals_append_audit` (migration 0011) does all of it in the server: lock,
head, one SHA-256 per event, insert, head moved. The client computes everything that does not
depend on the head, which is all of each event's canonical body but its `seq`: the server
hashes `prev_hash || before || seq || after`, which is byte for byte what
`storage.audit.event_hash` hashes, so `verify` checks these events like any other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from policy.effects import AuditEvent
from storage.audit import canonical_json, format_time

FUNCTION = "approvals_append_audit"
_APPEND = text(f"SELECT {FUNCTION}(CAST(:events AS json))")
_AROUND_SEQ = '"seq":0,"step":'  # the one place seq sits in a body (keys are sorted)


def _around_seq(body: str) -> tuple[str, str]:
    """The canonical body of an event with seq 0, cut around the seq: (before, after)."""
    head, found, tail = body.rpartition(_AROUND_SEQ)
    assert found, "the canonical body has no seq where expected"
    return head + '"seq":', ',"step":' + tail


def _body(at: datetime, event: AuditEvent, data: str) -> str:
    """The body `storage.audit.event_hash` hashes, with seq 0 (keep the two alike: the tests
    compare the server's hashes with it)."""
    return canonical_json(
        {
            "seq": 0,
            "at": format_time(at),
            "actor": event.actor,
            "action": str(event.action),
            "case": event.case_ref,
            "step": event.step_id,
            "rationale": event.rationale,
            "policy_version": event.policy_version,
            "platform": event.platform,
            "data": data,
        }
    )


async def append(conn: AsyncConnection, events: Sequence[AuditEvent], at: datetime) -> None:
    """Append `events` at `at`, chained after the head, in one round trip (lock included)."""
    stamp = at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    rows = []
    for event in events:
        data = canonical_json(dict(event.data))
        before, after = _around_seq(_body(at, event, data))
        rows.append(
            {
                "at": stamp,
                "actor": event.actor,
                "action": str(event.action),
                "case_ref": event.case_ref,
                "step_id": event.step_id,
                "rationale": event.rationale,
                "policy_version": event.policy_version,
                "platform": event.platform,
                "data": data,
                "before": before,
                "after": after,
            }
        )
    await conn.execute(_APPEND, {"events": json.dumps(rows)})

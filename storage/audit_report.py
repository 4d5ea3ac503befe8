"""The whole verification of the audit log, as one report: what `approvals audit verify` and
`/audit verify` in chat both run.

In order, stopping at the first failure as the CLI always has: the hash chain and its head,
the cases against the content their chain records, then a checkpoint. The CLI checks the
checkpoint file it is given; chat has no file, so it checks the newest checkpoint the chain
itself records (`audit.checkpoint`). That one is no witness from outside, but it does catch a
chain re-hashed from an edited event onwards: the recorded checkpoint still names the old
hash of its event.

The events are read once: the content check takes the `case.filed` events it needs from the
chain's pass (after they verified) instead of scanning the log again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from policy.audit_data import AuditData
from policy.lifecycle import AuditKind
from storage import audit, audit_verify
from storage.audit_checkpoint import Checkpoint, current, verify_checkpoint
from storage.audit_content import ContentReport, recorded_contents, verify_contents
from storage.driver_rows import Row
from storage.tables import audit_events

# Where verify's rows hold what the content check needs of each `case.filed` event.
SEQ, ACTION, CASE, DATA = (
    audit_verify.COLUMNS.index(c) for c in ("seq", "action", "case_ref", "data")
)
FILED = AuditKind.CASE_FILED.value


@dataclass(frozen=True, slots=True)
class LogReport:
    chain: audit.VerifyResult
    head: Checkpoint  # what the head says now (seq 0 for an empty log)
    contents: ContentReport | None = None  # None: not checked, the chain broke first
    checkpoint: Checkpoint | None = None  # the checkpoint checked, if any
    checkpoint_problem: str | None = None

    @property
    def ok(self) -> bool:
        contents_ok = self.contents is not None and self.contents.ok
        return self.chain.ok and contents_ok and self.checkpoint_problem is None


async def recorded_checkpoint(conn: AsyncConnection) -> Checkpoint | None:
    """The newest checkpoint the chain records having sent to the auditors, if any."""
    row = (
        await conn.execute(
            select(audit_events.c.data, audit_events.c.at)
            .where(audit_events.c.action == AuditKind.AUDIT_CHECKPOINT.value)
            .order_by(audit_events.c.seq.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    try:
        data = AuditData.read(json.loads(row.data))
    except (ValueError, AttributeError):
        return None  # unreadable data: the chain check has already said whether it is intact
    if data.seq is None or data.hash is None:
        return None
    return Checkpoint(data.seq, data.hash, audit.format_time(row.at))


async def check_log(conn: AsyncConnection, checkpoint: Checkpoint | None) -> LogReport:
    """Verify chain, contents and `checkpoint` (if given) in one snapshot `conn`."""
    filed: list[Row] = []

    def keep_filed(rows: Sequence[Row]) -> None:  # verify reads them anyway: no second scan
        filed.extend([(r[SEQ], r[CASE], r[DATA]) for r in rows if r[ACTION] == FILED])

    chain = await audit_verify.verify(conn, verified=keep_filed)
    head = await current(conn)
    if not chain.ok:
        return LogReport(chain, head)
    contents = await verify_contents(conn, recorded_contents(filed))
    if not contents.ok or checkpoint is None:
        return LogReport(chain, head, contents)
    problem = await verify_checkpoint(conn, checkpoint)
    return LogReport(chain, head, contents, checkpoint, problem)

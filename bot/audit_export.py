"""Writing the audit log out for auditors: CSV or JSON Lines, in chain order. One writer for
`approvals audit export`, the console's `/audit export` and the download (bot.audit_download)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, TextIO

from storage import audit
from storage.audit import AuditRecord, canonical_json, format_time
from storage.database import Database

COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "case",
    "step",
    "rationale",
    "policy_version",
    "platform",
    "data",
    "prev_hash",
    "hash",
)


def _row(event: AuditRecord) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": format_time(event.at),
        "actor": event.actor,
        "action": event.action,
        "case": event.case_ref,
        "step": event.step_id,
        "rationale": event.rationale,
        "policy_version": event.policy_version,
        "platform": event.platform,
        "data": event.data,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _taken(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


async def export_lines(events: AsyncIterator[AuditRecord], fmt: str) -> AsyncIterator[str]:
    """The export as lines of text, each ending in a newline (CSV starts with its header)."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        yield _taken(buffer)
        async for event in events:
            row = _row(event)
            row["data"] = canonical_json(row["data"])
            writer.writerow(row)
            yield _taken(buffer)
        return
    async for event in events:
        yield json.dumps(_row(event), ensure_ascii=False, sort_keys=True) + "\n"


async def write_export(events: AsyncIterator[AuditRecord], out: TextIO, fmt: str) -> int:
    """Write every event; returns how many were written."""
    count = 0
    async for line in export_lines(events, fmt):
        out.write(line)
        count += 1
    return count - 1 if fmt == "csv" else count  # the CSV header is no event


async def stream_export(
    db: Database, *, case: str | None, since: datetime | None, through: int | None
) -> AsyncIterator[str]:
    """The JSON Lines export of one consistent snapshot, events up to seq `through`."""
    async with db.reading() as conn:
        events = audit.stream_events(conn, case_ref=case, since=since, through=through)
        async for line in export_lines(events, "jsonl"):
            yield line

"""Writing the audit log out for auditors: CSV or JSON Lines, in chain order."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from typing import Any, TextIO

from storage.audit import AuditRecord, canonical_json, format_time

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


async def write_export(events: AsyncIterator[AuditRecord], out: TextIO, fmt: str) -> int:
    """Write every event; returns how many were written."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        async for event in events:
            row = _row(event)
            row["data"] = canonical_json(row["data"])
            writer.writerow(row)
            count += 1
    else:
        async for event in events:
            out.write(json.dumps(_row(event), ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count

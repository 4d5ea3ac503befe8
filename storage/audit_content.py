"""Does every case still hold what its audit chain says it was filed with?

The chain proves its own events unchanged; this binds the `cases` rows to it. `case.filed`
records the normalized request and its SHA-256 (and every decision the hash of the content it
decided on), so an edit of a case's stored request, or of a column copied from it (amount,
supplier, code, requester...), is found here and named: the case, the field, both values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from policy.lifecycle import AuditKind, case_ref
from storage.audit import canonical_json
from storage.tables import audit_events, cases

# Columns that copy a field of the request: each must equal the request the chain recorded.
COPIED_FIELDS = ("code", "title", "requester", "amount", "currency", "source", "external_id")


@dataclass(frozen=True, slots=True)
class ContentProblem:
    case_ref: str
    field: str
    stored: Any
    recorded: Any
    seq: int | None  # the event that recorded the content

    def __str__(self) -> str:
        where = f" (audit event {self.seq})" if self.seq is not None else ""
        return (
            f"{self.case_ref}: {self.field} is {self.stored!r} in the case but "
            f"{self.recorded!r} in its audit record{where}"
        )


@dataclass(frozen=True, slots=True)
class ContentReport:
    checked: int  # cases whose content the chain records
    unbound: int  # cases filed before content was recorded in the chain (nothing to compare)
    problems: tuple[ContentProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


async def _recorded(conn: AsyncConnection) -> dict[str, tuple[int, dict[str, Any]]]:
    """The content each case's chain records (its latest content event), by case ref."""
    rows = await conn.stream(
        select(audit_events.c.seq, audit_events.c.case_ref, audit_events.c.data)
        .where(audit_events.c.action == AuditKind.CASE_FILED.value)
        .order_by(audit_events.c.seq)
        .execution_options(yield_per=5000)
    )
    recorded: dict[str, tuple[int, dict[str, Any]]] = {}
    async for row in rows:
        data = json.loads(row.data)
        if isinstance(data, dict) and row.case_ref:
            recorded[row.case_ref] = (row.seq, data)
    return recorded


def _case_problems(row: Any, seq: int, data: dict[str, Any]) -> list[ContentProblem]:
    ref = case_ref(row.id)
    request, recorded_hash = data["request"], data.get("request_hash")
    problems = []
    actual = hashlib.sha256(canonical_json(row.request).encode()).hexdigest()
    if actual != recorded_hash:
        problems.append(ContentProblem(ref, "request", row.request, request, seq))
    if row.request_hash != recorded_hash:
        problems.append(ContentProblem(ref, "request_hash", row.request_hash, recorded_hash, seq))
    for name in COPIED_FIELDS:
        stored, wanted = getattr(row, name), request.get(name)
        if stored != wanted:
            problems.append(ContentProblem(ref, name, stored, wanted, seq))
    return problems


async def verify_contents(conn: AsyncConnection) -> ContentReport:
    """Compare every case with the content its chain records; name each difference."""
    recorded = await _recorded(conn)
    checked = unbound = 0
    problems: list[ContentProblem] = []
    rows = await conn.stream(select(cases).order_by(cases.c.id).execution_options(yield_per=2000))
    async for row in rows:
        ref = case_ref(row.id)
        found = recorded.get(ref)
        if found is None:
            problems.append(ContentProblem(ref, "case.filed", "a case", "no event", None))
            continue
        seq, data = found
        if not isinstance(data.get("request"), dict):
            unbound += 1  # filed before the chain recorded content
            continue
        checked += 1
        problems += _case_problems(row, seq, data)
    return ContentReport(checked, unbound, tuple(problems))

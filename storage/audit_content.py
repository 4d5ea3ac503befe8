"""Does every case still hold what its audit chain says it was filed with?

The chain proves its own events unchanged; this binds the `cases` rows to it. `case.filed`
records the normalized request and its SHA-256 (and every decision the hash of the content it
decided on), so an edit of a case's stored request, or of a column copied from it (amount,
supplier, code, requester...), is found here and named: the case, the field, both values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from policy.lifecycle import AuditKind, case_ref
from storage import driver_rows
from storage.audit import canonical_json
from storage.driver_rows import Row

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


# Read with the driver's own cursor (`storage.driver_rows`): plain values, JSON as its text.
_FILED = "SELECT seq, case_ref, data FROM audit_events WHERE action = 'case.filed' ORDER BY seq"
assert f"'{AuditKind.CASE_FILED.value}'" in _FILED
_CASES = (
    "SELECT id, request, request_hash, code, title, requester, amount, currency, source,"
    " external_id FROM cases ORDER BY id"
)
assert _CASES.endswith(f"request_hash, {', '.join(COPIED_FIELDS)} FROM cases ORDER BY id")
BATCH = 5000


def recorded_contents(filed: Iterable[Row]) -> dict[str, tuple[int, dict[str, Any]]]:
    """The content each case's chain records (its latest content event), by case ref, from
    its `case.filed` events as (seq, case_ref, data) in chain order."""
    recorded: dict[str, tuple[int, dict[str, Any]]] = {}
    loads = json.loads
    for seq, ref, text in filed:
        try:
            data = loads(text)
        except (TypeError, ValueError):
            continue  # not JSON: the chain check says whether the event is intact
        if isinstance(data, dict) and ref:
            recorded[ref] = (seq, data)
    return recorded


async def _filed_events(conn: AsyncConnection) -> list[Row]:
    async with aclosing(driver_rows.batches(conn, _FILED, BATCH)) as batches:
        return [row async for rows in batches for row in rows]


def _case_problems(
    ref: str, row: Row, stored: Any, seq: int, data: dict[str, Any]
) -> list[ContentProblem]:
    """What differs between a case's row (`stored`: its decoded request) and its record."""
    request, recorded_hash = data["request"], data.get("request_hash")
    problems = []
    try:
        actual = hashlib.sha256(canonical_json(stored).encode()).hexdigest()
    except (TypeError, ValueError):
        actual = None
    if actual != recorded_hash:
        problems.append(ContentProblem(ref, "request", stored, request, seq))
    if row[2] != recorded_hash:
        problems.append(ContentProblem(ref, "request_hash", row[2], recorded_hash, seq))
    for name, value in zip(COPIED_FIELDS, row[3:], strict=True):
        wanted = request.get(name)
        if value != wanted:
            problems.append(ContentProblem(ref, name, value, wanted, seq))
    return problems


async def verify_contents(
    conn: AsyncConnection, recorded: dict[str, tuple[int, dict[str, Any]]] | None = None
) -> ContentReport:
    """Compare every case with the content its chain records; name each difference.

    `recorded`: `recorded_contents` of the chain's `case.filed` events, if the caller has read
    them already (`storage.audit_report`, as it verifies the chain); else they are read here."""
    if recorded is None:
        recorded = recorded_contents(await _filed_events(conn))
    checked = unbound = 0
    problems: list[ContentProblem] = []
    loads = json.loads
    async with aclosing(driver_rows.batches(conn, _CASES, BATCH)) as batches:
        async for rows in batches:
            for row in rows:
                ref = case_ref(row[0])
                found = recorded.get(ref)
                if found is None:
                    problems.append(ContentProblem(ref, "case.filed", "a case", "no event", None))
                    continue
                seq, data = found
                if not isinstance(data.get("request"), dict):
                    unbound += 1  # filed before the chain recorded content
                    continue
                checked += 1
                try:
                    stored = loads(row[1])  # the JSON column's text, as SQLAlchemy decodes it
                except (TypeError, ValueError):
                    stored = row[1]  # unreadable: it cannot hash to what was filed
                problems += _case_problems(ref, row, stored, seq, data)
    return ContentReport(checked, unbound, tuple(problems))

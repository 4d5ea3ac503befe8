"""The floor's reads, as raw SQL: an earlier filing of the same event, who is away, the
policy's aggregates and the code's remediation check.

The same statements the handler's `_earlier_filing` (`storage.cases`' lookups),
`storage.absences.away_now`, `storage.aggregates.totals_for` and
`handlers.remediation.open_if_due` make (written by hand, for what the probed templates say
the policy holds), on the floor's aiosqlite connection inside its filing's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bench.intake_templates import AggregateTemplate, RemediationTemplate
from bench.intake_workload import sql_time
from handlers.filing import REPEAT_WINDOW
from storage.audit import canonical_json
from storage.records import case_ref

_COLUMNS = ("requester", "code", "source", "currency")  # the rest is read from the request
_LEFT_OUT = "('withdrawn', 'rejected')"  # nothing was bought: these do not count

# The whole row, as `storage.cases` selects it to build a CaseRecord.
_CASE = (
    "SELECT id, status, code, title, requester, amount, currency, request, outcome, rules,"
    " skipped_rules, flags, rationale_required, policy_version, source, external_id,"
    " idempotency_key, request_hash, created_at, updated_at, closed_at, version, due_at, basis"
    " FROM cases"
)
REQUEST_AT, HASH_AT = 7, 17  # the request's and its hash's places in a _CASE row
BY_IDEMPOTENCY_KEY = f"{_CASE} WHERE idempotency_key = ?"
BY_EXTERNAL_ID = f"{_CASE} WHERE source = ? AND external_id = ?"
RECENT_FILING = (
    f"{_CASE} WHERE requester = ? AND request_hash = ? AND created_at >= ? ORDER BY id DESC LIMIT 1"
)
AWAY_NOW = "SELECT person, delegate FROM absences WHERE ended_at IS NULL AND until > ? ORDER BY id"
OPEN_ITEMS = (
    "SELECT count(*) FROM remediation_items WHERE code = ? AND per_value IS NULL"
    " AND status IN ('open', 'acknowledged')"
)
LAST_CLOSED = (
    "SELECT max(closed_at) FROM remediation_items WHERE code = ? AND per_value IS NULL"
    " AND status = 'closed'"
)
CASES_OF_CODE = (
    "SELECT id, request, amount, currency, status, created_at FROM cases"
    " WHERE code = ? AND created_at >= ? AND created_at <= ? ORDER BY created_at, id"
)
INSERT_ITEM = (
    "INSERT INTO remediation_items (code, per_field, per_value, owner, status, opened_at,"
    " due_at, next_action_at, evidence, version) VALUES (?, NULL, NULL, ?, 'open', ?, ?, ?, ?, 1)"
)


async def earlier_filing(
    conn: aiosqlite.Connection,
    request: Mapping[str, Any],
    request_hash: str,
    now: datetime,
    key: str | None,
    by_person: bool,
) -> tuple[Any, ...] | None:
    """The row of the case an earlier delivery of this filing made, looked up as
    `handlers.filing._earlier_filing` does: by Idempotency-Key (`key`), by source and external
    id, or (filed by a person, without a key) the same requester and content within
    REPEAT_WINDOW. None if there is none."""
    if key is not None:
        rows = list(await conn.execute_fetchall(BY_IDEMPOTENCY_KEY, (key,)))
        if rows and rows[0][HASH_AT] != request_hash:
            raise SystemExit(f"Idempotency-Key {key} was already used for a different request")
        if rows:
            return tuple(rows[0])
    source, external_id = request.get("source"), request.get("external_id")
    if source and external_id:
        rows = list(await conn.execute_fetchall(BY_EXTERNAL_ID, (source, external_id)))
        return tuple(rows[0]) if rows else None
    if by_person and key is None:  # SQLite has one writer: no repeat lock to take
        since = sql_time(now - REPEAT_WINDOW)
        params = (request["requester"], request_hash, since)
        rows = list(await conn.execute_fetchall(RECENT_FILING, params))
        return tuple(rows[0]) if rows else None
    return None


async def away_now(conn: aiosqlite.Connection, now: datetime) -> dict[str, str]:
    """Everyone away at `now`, with their delegate (SQLite: no shared lock to take)."""
    rows = await conn.execute_fetchall(AWAY_NOW, (sql_time(now),))
    return {person: delegate for person, delegate in rows}


def _field(field: str) -> str:
    if field in _COLUMNS:
        return field
    path = ".".join(f'"{part}"' for part in field.split(".", 1))
    return f"CAST(json_extract(request, '$.{path}') AS TEXT)"


def _branch(aggregate: AggregateTemplate) -> str:
    """One aggregate's related cases, newest first, each row with the count and sum of all."""
    matches = "".join(f" AND {_field(field)} = ?" for field in aggregate.match)
    return (
        "SELECT * FROM (SELECT ? AS aggregate, id, count(*) OVER (),"
        " coalesce(sum(amount) OVER (), 0) FROM cases WHERE created_at >= ? AND created_at <= ?"
        f" AND status NOT IN {_LEFT_OUT}{matches} ORDER BY id DESC LIMIT {aggregate.named})"
    )


def _match_values(aggregate: AggregateTemplate, request: Mapping[str, Any]) -> list[str] | None:
    """The request's values of the aggregate's fields; None if one is absent (no value)."""
    values = []
    for field in aggregate.match:
        head, _, key = field.partition(".")
        value = request.get(head)
        if key:
            value = value.get(key) if isinstance(value, Mapping) else None
        if value is None or value == "":
            return None
        values.append(str(value))
    return values


async def aggregates_json(
    conn: aiosqlite.Connection,
    aggregates: Sequence[AggregateTemplate],
    request: Mapping[str, Any],
    now: datetime,
) -> str | None:
    """The aggregates' values as policy.evaluated records them (canonical JSON: amount, the
    newest case ids ascending, count), read in one statement; None if none has a value."""
    branches: list[str] = []
    params: list[object] = []
    found: dict[str, dict[str, Any]] = {}
    for aggregate in aggregates:
        values = _match_values(aggregate, request)
        if values is None:
            continue
        found[aggregate.id] = {"amount": 0.0, "cases": [], "count": 0}
        branches.append(_branch(aggregate))
        params += [aggregate.id, sql_time(now - aggregate.window), sql_time(now), *values]
    if not branches:
        return None
    for name, case_id, how_many, total in await conn.execute_fetchall(
        " UNION ALL ".join(branches), params
    ):
        totals = found[name]
        totals["amount"], totals["count"] = float(total), int(how_many)
        totals["cases"].insert(0, case_id)  # newest first from the query
    return canonical_json(found)


@dataclass(frozen=True, slots=True)
class OpenedItem:
    id: int
    evidence: dict[str, Any]


def _evidence(counted: Sequence[Any], playbook: str | None) -> dict[str, Any]:
    """The cases, their suppliers and cost centers (first seen first), and the amounts at
    stake per currency (of the cases neither rejected nor withdrawn)."""
    suppliers: dict[str, None] = {}
    centers: dict[str, None] = {}
    leakage: dict[str, float] = {}
    for _, request_json, amount, currency, status, _ in counted:
        request = json.loads(request_json)
        supplier = request.get("supplier")
        if isinstance(supplier, Mapping) and (name := supplier.get("name") or supplier.get("id")):
            suppliers[str(name)] = None
        if center := request.get("cost_center"):
            centers[str(center)] = None
        if status not in ("rejected", "withdrawn") and amount is not None and currency:
            leakage[currency] = leakage.get(currency, 0.0) + amount
    return {
        "cases": [case_ref(row[0]) for row in counted],
        "suppliers": list(suppliers),
        "cost_centers": list(centers),
        "leakage": {currency: round(total, 2) for currency, total in leakage.items()},
        "playbook": playbook,
    }


async def remediation_check(
    conn: aiosqlite.Connection, rule: RemediationTemplate, now: datetime
) -> OpenedItem | None:
    """The code's remediation check, after the case went in: nothing while an item is open;
    else count the code's cases since the window's start (or the last close, if later) and
    open the item at the threshold. The opened item's id and evidence, or None."""
    ((open_items,),) = await conn.execute_fetchall(OPEN_ITEMS, (rule.code,))
    if open_items:
        return None
    ((closed,),) = await conn.execute_fetchall(LAST_CLOSED, (rule.code,))
    since = sql_time(now - rule.within)
    if closed is not None and closed > since:  # one text format: compared as text
        since = closed
    counted = list(await conn.execute_fetchall(CASES_OF_CODE, (rule.code, since, sql_time(now))))
    if len(counted) < rule.after:
        return None
    opening = rule.opening
    if opening is None or opening.opened_at != now:
        raise SystemExit("the floor opens a remediation item the probe did not: extend the probe")
    evidence = _evidence(counted, opening.playbook)
    next_action = opening.next_action_after
    cursor = await conn.execute(
        INSERT_ITEM,
        (
            rule.code,
            opening.owner,
            sql_time(now),
            sql_time(now + opening.due_after),
            None if next_action is None else sql_time(now + next_action),
            json.dumps(evidence),  # what SQLAlchemy's JSON type stores
        ),
    )
    assert cursor.lastrowid is not None
    return OpenedItem(cursor.lastrowid, evidence)

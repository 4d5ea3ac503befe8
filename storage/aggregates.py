"""The values of the policy's aggregates for one request: how many related recent cases, their
sum, and the newest of them by id.

One statement for all of a policy's aggregates (a UNION ALL, one branch each), each branch a
range on `cases.created_at` (indexed) within the aggregate's window, so its cost follows the
window's volume, not the size of the history. Fields the cases table has as columns
(requester, code, source) are compared there; the rest are read from the stored request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from policy.aggregates import NAMED_CASES, Totals, match_values
from policy.lifecycle import CaseStatus
from policy.model import Policy
from storage.tables import cases

# Cases that do not count towards an aggregate: nothing was bought.
_LEFT_OUT = (CaseStatus.WITHDRAWN.value, CaseStatus.REJECTED.value)
_COLUMNS = {"requester": cases.c.requester, "code": cases.c.code, "source": cases.c.source}


def _field(field: str) -> ColumnElement[Any]:
    """The SQL expression of a matchable request field."""
    if field in _COLUMNS:
        return _COLUMNS[field]
    if field == "currency":
        return cases.c.currency
    head, _, key = field.partition(".")
    path = cases.c.request[head][key] if key else cases.c.request[head]
    text: ColumnElement[Any] = path.as_string()
    return text


async def totals_for(
    conn: AsyncConnection,
    policy: Policy,
    request: Mapping[str, Any],
    now: datetime,
    exclude: int | None = None,
) -> dict[str, Totals]:
    """Each aggregate of `policy` that `request` (as a case stores it) has a value for, with
    the cases filed in its window before `now` (`exclude`: the case itself, when amended)."""
    branches: list[Select[Any]] = []
    found: dict[str, Totals] = {}
    for aggregate in policy.aggregates:
        values = match_values(aggregate, request)
        if values is None:
            continue
        found[aggregate.id] = Totals(0, 0.0)
        related = (
            select(
                literal(aggregate.id).label("aggregate"),
                cases.c.id,
                # Over every related case, before the limit: exact however many there are.
                func.count().over().label("how_many"),
                func.coalesce(func.sum(cases.c.amount).over(), 0).label("total"),
            )
            .where(
                cases.c.created_at >= now - aggregate.window,
                cases.c.created_at <= now,
                cases.c.status.not_in(_LEFT_OUT),
                *(_field(field) == str(value) for field, value in values.items()),
            )
            .order_by(cases.c.id.desc())
            .limit(NAMED_CASES)
        )
        if exclude is not None:
            related = related.where(cases.c.id != exclude)
        branches.append(select(related.subquery()))
    if not branches:
        return {}
    statement = branches[0] if len(branches) == 1 else union_all(*branches)
    for row in await conn.execute(statement):
        totals = found[row.aggregate]
        found[row.aggregate] = Totals(
            int(row.how_many), float(row.total), (row.id, *totals.cases)
        )  # newest first from the query: prepended, they end up ascending
    return found

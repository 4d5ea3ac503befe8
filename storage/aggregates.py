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
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    bindparam,
    func,
    literal,
    select,
    union_all,
)
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


# One branch of the statement: an aggregate's id and the request fields it matches on.
Branch = tuple[str, tuple[str, ...]]


@lru_cache(maxsize=64)
def _statement(branches: tuple[Branch, ...], excluding: bool) -> Select[Any] | CompoundSelect[Any]:
    """The statement for these branches, built once: every filing runs it, and building and
    keying a fresh union of window queries cost a few hundred microseconds each time. Values
    are bound: `now`, `since_K`, `match_K_J` and `exclude`."""
    selects: list[Select[Any]] = []
    for k, (name, fields) in enumerate(branches):
        related = select(
            literal(name).label("aggregate"),
            cases.c.id,
            # Over every related case, before the limit: exact however many there are.
            func.count().over().label("how_many"),
            func.coalesce(func.sum(cases.c.amount).over(), 0).label("total"),
        ).where(
            cases.c.created_at >= bindparam(f"since_{k}"),
            cases.c.created_at <= bindparam("now"),
            cases.c.status.not_in(_LEFT_OUT),
            *(_field(field) == bindparam(f"match_{k}_{j}") for j, field in enumerate(fields)),
        )
        if excluding:
            related = related.where(cases.c.id != bindparam("exclude"))
        related = related.order_by(cases.c.id.desc()).limit(NAMED_CASES)
        selects.append(select(related.subquery()))
    return selects[0] if len(selects) == 1 else union_all(*selects)


async def totals_for(
    conn: AsyncConnection,
    policy: Policy,
    request: Mapping[str, Any],
    now: datetime,
    exclude: int | None = None,
) -> dict[str, Totals]:
    """Each aggregate of `policy` that `request` (as a case stores it) has a value for, with
    the cases filed in its window before `now` (`exclude`: the case itself, when amended)."""
    branches: list[Branch] = []
    params: dict[str, Any] = {"now": now, "exclude": exclude}
    found: dict[str, Totals] = {}
    for aggregate in policy.aggregates:
        values = match_values(aggregate, request)
        if values is None:
            continue
        k = len(branches)
        branches.append((aggregate.id, tuple(values)))
        params[f"since_{k}"] = now - aggregate.window
        params.update({f"match_{k}_{j}": str(value) for j, value in enumerate(values.values())})
        found[aggregate.id] = Totals(0, 0.0)
    if not branches:
        return {}
    for row in await conn.execute(_statement(tuple(branches), exclude is not None), params):
        totals = found[row.aggregate]
        found[row.aggregate] = Totals(
            int(row.how_many), float(row.total), (row.id, *totals.cases)
        )  # newest first from the query: prepended, they end up ascending
    return found

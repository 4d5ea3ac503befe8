"""Aggregates over recent cases, for rules that catch a purchase split to dodge a threshold.

Declared in the policy and read by conditions as `aggregates.ID.amount` and
`aggregates.ID.count`:

```yaml
aggregates:
  - id: same_supplier_7d
    window: 7d
    match: [requester, supplier.id]   # cases that share these fields with this one
```

`amount` is the sum of the amounts of the cases filed in the window before this one that
share every `match` field with it and its currency, leaving out withdrawn and rejected cases
(and this case); `count` is how many there are. A request without one of the `match` fields,
or without a currency, has no value for that aggregate, so a rule reading it is skipped (as
for any absent field). Pure: the totals come from `storage.aggregates`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from policy.celscan import Token, references, tokenize

NAME = "aggregates"  # the variable conditions read them under
MEASURES = ("amount", "count")
# The request fields an aggregate may match on: who, what, where; `supplier.*` one key deep.
MATCHABLE = (
    "requester",
    "code",
    "source",
    "category",
    "cost_center",
    "project_code",
    "legal_entity",
    "supplier.id",
    "supplier.name",
)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True, slots=True)
class Aggregate:
    id: str
    window: timedelta
    match: tuple[str, ...]


# The related cases an evaluation names (the newest ones); count and amount cover them all,
# so a supplier with thousands of cases in the window costs each filing the same.
NAMED_CASES = 20


@dataclass(frozen=True, slots=True)
class Totals:
    """One aggregate's value for one request: how many related cases, their sum, and the ids
    of the newest `NAMED_CASES` of them (ascending)."""

    count: int
    amount: float
    cases: tuple[int, ...] = ()

    def bound(self) -> dict[str, Any]:
        """As a condition sees it."""
        return {"amount": self.amount, "count": self.count}


def match_values(aggregate: Aggregate, request: Mapping[str, Any]) -> dict[str, Any] | None:
    """The values of `request` (as a case stores it) the aggregate matches on, with its
    currency; None when one of them is absent (the aggregate has no value then)."""
    values: dict[str, Any] = {}
    for field in (*aggregate.match, "currency"):
        head, _, key = field.partition(".")
        value = request.get(head)
        if key:
            value = value.get(key) if isinstance(value, Mapping) else None
        if value is None or value == "":
            return None
        values[field] = value
    return values


def bound(totals: Mapping[str, Totals]) -> dict[str, dict[str, Any]]:
    """The `aggregates` variable of a condition."""
    return {name: value.bound() for name, value in totals.items()}


def recorded(totals: Mapping[str, Totals]) -> dict[str, dict[str, Any]]:
    """The totals as the evaluation's audit event keeps them: with the newest related case
    ids, so the card can list them and an auditor see what the rule saw."""
    return {name: {**value.bound(), "cases": list(value.cases)} for name, value in totals.items()}


@dataclass(frozen=True, slots=True)
class AggregateUse:
    """`aggregates.ID.MEASURE` in a condition (`measure` None when it is not selected)."""

    id: str
    measure: str | None
    token: Token
    in_has: bool = False  # `has(aggregates.ID)`: a test for presence


def uses(source: str) -> list[AggregateUse]:
    """Every use of an aggregate in the condition `source`, in source order."""
    tokens = tokenize(source)
    by_start = {token.start: i for i, token in enumerate(tokens)}
    found = []
    for ref in references(source):
        if ref.name != NAME or ref.field is None or ref.field_token is None:
            continue
        i = by_start[ref.field_token.start]
        measure = None
        if i + 2 < len(tokens) and tokens[i + 1].text == "." and tokens[i + 2].kind == "ident":
            measure = tokens[i + 2].text
        found.append(AggregateUse(ref.field, measure, ref.field_token, ref.in_has))
    return found


def use_problems(source: str, declared: Iterable[str]) -> list[tuple[str, Token]]:
    """(message, where) for each use of an aggregate the policy does not declare, or of a
    measure other than amount and count."""
    known = sorted(declared)
    problems = []
    for use in uses(source):
        if use.id not in known:
            have = ", ".join(known) or "none are declared"
            problems.append((f"unknown aggregate {use.id!r} (aggregates: {have})", use.token))
        elif use.measure is None and not use.in_has:
            problems.append(
                (f"read aggregates.{use.id}.amount or aggregates.{use.id}.count", use.token)
            )
        elif use.measure is not None and use.measure not in MEASURES:
            problems.append(
                (f"aggregates.{use.id} has amount and count, not {use.measure!r}", use.token)
            )
    return problems


def reads_aggregates(source: str) -> bool:
    return any(ref.name == NAME for ref in references(source))

"""What an amendment from the source changed, and whether the approvals given still stand.

An amendment replaces the stored request with a new one. What changed is compared field by
field (a map such as `supplier` or `details` one key deep: `supplier.name`). It is material,
and the approvals given so far no longer stand, when:

- the policy now decides differently: another outcome, or another route;
- the amount rises by more than the policy's `amendments.amount_tolerance_pct` (0 unless set);
- the code, supplier, requester, currency, cost center or category changes.

Anything else (a title, a reference, an attachment, a lower amount) is recorded and shown on
the cards, and the approvals stand. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policy.model import Evaluation, Outcome, Policy

# Who the case is about and what it buys: a change here needs a fresh decision.
MATERIAL_FIELDS = ("code", "supplier", "requester", "currency", "cost_center", "category")
NOT_CONTENT = frozenset({"revision"})  # the source's counter, not what is approved
_OUTCOME_WORDS = {
    Outcome.APPROVE.value: "approved by policy",
    Outcome.REJECT.value: "rejected by policy",
    Outcome.ROUTE.value: "decided by people",
}


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str  # `amount`, `supplier.name`
    before: Any  # None: it was absent
    after: Any  # None: it is gone

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}

    @staticmethod
    def read(data: Mapping[str, Any]) -> FieldChange | None:
        field = data.get("field")
        if not isinstance(field, str):
            return None
        return FieldChange(field, data.get("before"), data.get("after"))

    def describe(self, currency: str | None = None) -> str:
        """`amount 18,250.00 -> 24,900.00 USD`, `title "A" -> "B"`, `cost_center (none) -> X`."""
        if self.field == "amount":
            unit = f" {currency}" if currency else ""
            return f"amount {_shown(self.before, True)} -> {_shown(self.after, True)}{unit}"
        return f"{self.field} {_shown(self.before)} -> {_shown(self.after)}"


def _shown(value: Any, money: bool = False) -> str:
    if value is None:
        return "(none)"
    if money and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.2f}"
    if isinstance(value, str):
        return value if len(value) <= 80 else f"{value[:77]}..."
    return str(value)


def content_of(request: Mapping[str, Any]) -> dict[str, Any]:
    """The request without the source's bookkeeping: what two filings compare on."""
    return {k: v for k, v in request.items() if k not in NOT_CONTENT}


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """Each field whose value differs, in the order the fields first appear."""
    changes: list[FieldChange] = []
    for key in dict.fromkeys([*before, *after]):
        if key in NOT_CONTENT:
            continue
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, Mapping) or isinstance(new, Mapping):
            old_map = old if isinstance(old, Mapping) else {}
            new_map = new if isinstance(new, Mapping) else {}
            for inner in dict.fromkeys([*old_map, *new_map]):
                if old_map.get(inner) != new_map.get(inner):
                    changes.append(
                        FieldChange(f"{key}.{inner}", old_map.get(inner), new_map.get(inner))
                    )
        else:
            changes.append(FieldChange(key, old, new))
    return tuple(changes)


def material_reasons(
    policy: Policy,
    changes: Sequence[FieldChange],
    before_outcome: str,
    before_route: Sequence[str],
    after: Evaluation,
) -> tuple[str, ...]:
    """Why the approvals given no longer stand; empty when the amendment is not material.

    `before_outcome` and `before_route` are what policy decided before (the case's outcome and
    the tiers of its route); `after` is the amended request's evaluation."""
    reasons: list[str] = []
    after_route = tuple(step.tier for step in after.route)
    if after.outcome.value != before_outcome:
        reasons.append(
            f"policy now has it {_OUTCOME_WORDS[after.outcome.value]} "
            f"(was {_OUTCOME_WORDS.get(before_outcome, before_outcome)})"
        )
    elif tuple(before_route) != after_route:
        reasons.append(
            f"the route changes ({', '.join(before_route) or 'none'} -> "
            f"{', '.join(after_route) or 'none'})"
        )
    amount = next((c for c in changes if c.field == "amount"), None)
    if amount is not None and _rises(amount, policy.amendments.amount_tolerance_pct):
        reasons.append(f"the amount rises ({amount.describe()})")
    touched = {c.field.split(".", 1)[0] for c in changes}
    for field in MATERIAL_FIELDS:
        if field in touched:
            reasons.append(f"the {field.replace('_', ' ')} changes")
    return tuple(reasons)


def _rises(change: FieldChange, tolerance_pct: float) -> bool:
    before = change.before if isinstance(change.before, int | float) else 0.0
    after = change.after if isinstance(change.after, int | float) else 0.0
    return after > before * (1 + tolerance_pct / 100)

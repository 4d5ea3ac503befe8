"""The remediation loop: when a code keeps coming back, its owner is asked to fix the cause.

A policy sets `remediation: {after, within, sla}` for every code (top level) or for one
(`taxonomy[].remediation`, which wins), optionally `per: supplier | cost_center`,
`remind_every` and `escalate_after`. An item opens for the code's owner when a filing makes
`after` cases of the code (of one supplier or cost center with `per`) filed inside `within`
and after the key's last item was closed, and no item of the key is open. It is due `sla`
after it opened (business time with a calendar), is reminded and escalated to the owner's
manager like a step (`policy.remediation_plan`), and closes with the root cause and the fix.

Pure: no I/O.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from policy.model import Policy, Remediation, Role

PER_FIELDS = ("supplier", "cost_center")
ITEM_PREFIX = "REM-"
MAX_ROOT_CAUSE = 3000
_ITEM_REF = re.compile(r"(?:REM-?)?0*([0-9]{1,9})", re.IGNORECASE | re.ASCII)
_LEFT_OUT = ("rejected", "withdrawn")  # nothing was bought: not in the amounts at stake


class ItemStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


def item_ref(item_id: int) -> str:
    return f"{ITEM_PREFIX}{item_id:06d}"


def parse_item_ref(text: str) -> int | None:
    """`REM-000001`, `rem-1` or `1` -> 1; anything else -> None."""
    match = _ITEM_REF.fullmatch(text.strip())
    if match is None:
        return None
    number = int(match.group(1))
    return number if number > 0 else None


def remediation_for(policy: Policy, code: str) -> Remediation | None:
    """The code's own remediation, else the policy's for every code, else None."""
    entry = policy.taxonomy.get(code)
    if entry is not None and entry.remediation is not None:
        return entry.remediation
    return policy.remediation


def supplier_of(request: Mapping[str, Any]) -> str | None:
    """The supplier as the report groups it: its name, else its id."""
    supplier = request.get("supplier")
    if not isinstance(supplier, Mapping):
        return None
    value = supplier.get("name") or supplier.get("id")
    return str(value) if value else None


def per_value(rule: Remediation, request: Mapping[str, Any]) -> str | None:
    """The value of the rule's `per` field on the request (None: it has none)."""
    if rule.per == "supplier":
        return supplier_of(request)
    value = request.get("cost_center") if rule.per == "cost_center" else None
    return str(value) if value else None


def counting_since(rule: Remediation, now: datetime, last_closed: datetime | None) -> datetime:
    """Cases count from here: the window's start, or the key's last close if later."""
    start = now - rule.within
    return start if last_closed is None else max(start, last_closed)


def should_open(rule: Remediation, counted: int, open_exists: bool) -> bool:
    """An item opens at the `after`th case, unless one is open for the key already."""
    return not open_exists and counted >= rule.after


@dataclass(frozen=True, slots=True)
class CountedCase:
    """A case of the code inside the counting window, as the evidence lists it."""

    ref: str
    request: Mapping[str, Any]
    amount: float | None
    currency: str | None
    status: str


@dataclass(frozen=True, slots=True)
class Evidence:
    cases: tuple[str, ...]
    suppliers: tuple[str, ...]
    cost_centers: tuple[str, ...]
    leakage: Mapping[str, float] = field(default_factory=dict)  # per currency
    playbook: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "cases": list(self.cases),
            "suppliers": list(self.suppliers),
            "cost_centers": list(self.cost_centers),
            "leakage": {currency: round(total, 2) for currency, total in self.leakage.items()},
            "playbook": self.playbook,
        }

    @staticmethod
    def read(data: Any) -> Evidence:
        """Stored evidence back; what is malformed is left out."""
        found = data if isinstance(data, Mapping) else {}

        def texts(key: str) -> tuple[str, ...]:
            value = found.get(key)
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        leakage = found.get("leakage")
        amounts = {
            str(k): float(v)
            for k, v in (leakage.items() if isinstance(leakage, Mapping) else ())
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        playbook = found.get("playbook")
        return Evidence(
            texts("cases"),
            texts("suppliers"),
            texts("cost_centers"),
            amounts,
            playbook if isinstance(playbook, str) else None,
        )


def evidence_of(counted: Sequence[CountedCase], playbook: str | None) -> Evidence:
    """The cases, their suppliers and cost centers (first seen first), and the amounts at
    stake per currency: those of the cases not rejected or withdrawn."""
    suppliers = {s: None for c in counted if (s := supplier_of(c.request))}
    centers = {str(cc): None for c in counted if (cc := c.request.get("cost_center"))}
    leakage: dict[str, float] = {}
    for case in counted:
        if case.status in _LEFT_OUT or case.amount is None or not case.currency:
            continue
        leakage[case.currency] = leakage.get(case.currency, 0.0) + case.amount
    return Evidence(
        tuple(c.ref for c in counted), tuple(suppliers), tuple(centers), leakage, playbook
    )


def manager_of(policy: Policy, person: str) -> str | None:
    found = policy.person(person)
    return found.manager if found is not None else None


def may_handle(policy: Policy, owner: str, person: str) -> str | None:
    """Who may acknowledge and close an item: its owner, the owner's manager and admins.
    None if `person` may; else why not."""
    found = policy.person(person)
    admin = found is not None and found.has_role(Role.ADMIN)
    if person in (owner, manager_of(policy, owner)) or admin:
        return None
    return "Only the code's owner, their manager or an admin may act on a remediation item."


def may_view_item(policy: Policy, owner: str, person: str) -> bool:
    """Who may see an item: whoever may act on it (`may_handle`), and auditors."""
    found = policy.person(person)
    auditor = found is not None and found.has_role(Role.AUDITOR)
    return auditor or may_handle(policy, owner, person) is None


def close_problem(root_cause: str | None) -> str | None:
    """Why a close with this text is refused, or None: the root cause and fix are required."""
    text = (root_cause or "").strip()
    if not text:
        return (
            "Closing needs the root cause and the fix, e.g. `/approvals remediation close "
            "REM-000001 supplier master data was stale; nightly sync added`."
        )
    if len(text) > MAX_ROOT_CAUSE:
        return f"The root cause and fix are longer than {MAX_ROOT_CAUSE} characters."
    return None


def frequency(filed: Sequence[datetime], start: datetime, end: datetime) -> float | None:
    """Cases per day filed in [start, end); None for an empty span."""
    days = (end - start) / timedelta(days=1)
    if days <= 0:
        return None
    return round(sum(1 for at in filed if start <= at < end) / days, 3)

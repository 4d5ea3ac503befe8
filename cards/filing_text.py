"""How typed text becomes request details, the same in every form and chat command."""

from __future__ import annotations

import math
from typing import Any

from cards.limits import truncate

# The request fields a filing form offers, in the order it shows them (paths into
# policy.request.ExceptionRequest). Slack's modal and Teams' card both follow this list.
FILING_FIELDS = (
    "code",
    "title",
    "amount",
    "currency",
    "supplier.name",
    "supplier.id",
    "supplier.risk_score",
    "supplier.on_contract",
    "category",
    "cost_center",
    "project_code",
    "legal_entity",
    "urgency",
    "references.po",
    "references.invoice",
    "details",
)


def detail_value(text: str) -> Any:
    """A typed details value: true/false, a finite number, else the text itself."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            number = convert(text)
        except ValueError:
            continue
        if math.isfinite(number):
            return number
    return text


def parse_detail_lines(text: str) -> dict[str, Any]:
    """`key=value` lines as details; ValueError naming the first bad line."""
    details: dict[str, Any] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        entry = raw.strip()
        if not entry:
            continue
        key, sep, value = entry.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"line {number} ({truncate(entry, 60)}) is not key=value.")
        if key in details:
            raise ValueError(f"line {number}: {truncate(key, 60)} is given twice.")
        details[key] = detail_value(value.strip())
    return details


def put(request: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted field path ("supplier.risk_score") in a nested request dict."""
    target = request
    *parents, leaf = path.split(".")
    for parent in parents:
        target = target.setdefault(parent, {})
    target[leaf] = value

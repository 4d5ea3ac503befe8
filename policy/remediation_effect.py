"""Did a remediation work? For each closed item, its code's frequency (cases per day, of its
key when it was counted per supplier or cost center) in the remediation's window before the
close, and after it (up to the window's length, or to now if that is sooner). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from policy.model import Policy
from policy.remediation import frequency, remediation_for
from policy.remediation_plan import RemediationItem

DEFAULT_WINDOW = timedelta(days=30)  # for a code the policy no longer remediates


@dataclass(frozen=True, slots=True)
class RemediationEffect:
    ref: str
    code: str
    key: str | None  # "supplier Acme"; None: the code alone
    owner: str
    closed_at: datetime
    root_cause: str
    window_days: float
    before_per_day: float | None
    after_per_day: float | None  # None until some time has passed since the close
    after_days: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "key": self.key,
            "owner": self.owner,
            "closed_at": self.closed_at.isoformat(),
            "root_cause": self.root_cause,
            "window_days": self.window_days,
            "before_per_day": self.before_per_day,
            "after_per_day": self.after_per_day,
            "after_days": self.after_days,
        }


def window_of(policy: Policy, item: RemediationItem) -> timedelta:
    rule = remediation_for(policy, item.code)
    return rule.within if rule is not None else DEFAULT_WINDOW


def effects(
    policy: Policy,
    closed: Sequence[RemediationItem],
    filed: Mapping[int, Sequence[datetime]],
    now: datetime,
) -> tuple[RemediationEffect, ...]:
    """`filed`: by item id, when the cases of its code and key were filed around the close."""
    found = []
    for item in closed:
        if item.closed_at is None:
            continue
        window, at = window_of(policy, item), item.closed_at
        end = min(at + window, now)
        times = filed.get(item.id, ())
        found.append(
            RemediationEffect(
                ref=item.ref,
                code=item.code,
                key=f"{item.per_field} {item.per_value}" if item.per_field else None,
                owner=item.owner,
                closed_at=at,
                root_cause=item.root_cause or "",
                window_days=round(window / timedelta(days=1), 3),
                before_per_day=frequency(times, at - window, at),
                after_per_day=frequency(times, at, end),
                after_days=round(max(end - at, timedelta(0)) / timedelta(days=1), 3),
            )
        )
    return tuple(found)

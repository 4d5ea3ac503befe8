"""The report's remediation figures: the items closed since the window opened, and when the
cases of each one's code and key were filed around its close (`policy.remediation_effect`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from policy.model import Policy
from policy.remediation import per_value, remediation_for
from policy.remediation_effect import RemediationEffect, effects, window_of
from storage import remediation as items


async def remediation_effects(
    conn: AsyncConnection, policy: Policy, since: datetime, now: datetime, owner: str | None
) -> tuple[RemediationEffect, ...]:
    """Of every owner's items, or (`owner`) of that person's."""
    closed = [i for i in await items.closed_items(conn, since) if owner in (None, i.owner)]
    filed = {}
    for item in closed:
        assert item.closed_at is not None  # closed_items returns closed ones
        window, rule = window_of(policy, item), remediation_for(policy, item.code)
        rows = await items.cases_of_code(
            conn, item.code, item.closed_at - window, min(item.closed_at + window, now)
        )
        filed[item.id] = [
            at
            for at, case in rows
            if item.per_value is None
            or rule is None
            or per_value(rule, case.request) == item.per_value
        ]
    return effects(policy, closed, filed, now)

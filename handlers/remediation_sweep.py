"""The remediation sweep: reminders and escalation of open items, alongside the step sweep.

As `handlers.sweep` does for steps: due items are claimed with a lease in one short
transaction, then each is handled in a transaction of its own that checks the claim is still
its own and saves the item (which releases the claim) with its events and messages. So two
replicas never send the same reminder, and a crashed sweeper's claims run out.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.context import Services
from policy.remediation import ItemStatus, remediation_for
from policy.remediation_plan import ItemChange, due
from storage import audit, outbox
from storage import remediation as items

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=2)
DEFAULT_LIMIT = 100


async def sweep_remediation(
    svc: Services, owner: str, lease: timedelta = DEFAULT_LEASE, limit: int = DEFAULT_LIMIT
) -> int:
    """Claim up to `limit` due items for `owner` and handle each; how many were reminded or
    escalated."""
    now = svc.clock.now()

    async def claim(conn: AsyncConnection) -> list[int]:
        # Row locks (FOR UPDATE SKIP LOCKED): no audit event, so no chain lock either.
        return await items.claim_due(conn, now, owner, lease, limit)

    claimed = await svc.db.write(claim)
    acted = 0
    for item_id in claimed:
        try:
            acted += await _process(svc, owner, item_id)
        except Exception:
            log.exception("remediation sweep: item %s failed", item_id)
    return acted


async def _process(svc: Services, owner: str, item_id: int) -> int:
    now = svc.clock.now()

    async def unit(conn: AsyncConnection) -> int:
        if not await items.holds_claim(conn, item_id, owner, now):
            return 0  # the lease ran out and another sweeper took it over
        item = await items.get_item(conn, item_id)
        due_now = (
            item is not None
            and item.status is not ItemStatus.CLOSED
            and item.next_action_at is not None
            and item.next_action_at <= now
        )
        if item is None or not due_now:
            await items.release(conn, item_id, owner)
            return 0
        rule = remediation_for(svc.policy, item.code)
        # The policy no longer remediates the code: the item stays open, its clock stops.
        change = (
            ItemChange(dataclasses.replace(item, next_action_at=None))
            if rule is None
            else due(svc.policy, rule, item, now)
        )
        # Compare-and-set on the item's version: what makes one reminder of two sweepers land
        # (a claim whose lease ran out mid-item included).
        if not await items.save_item(conn, item, change.item):
            await items.release(conn, item_id, owner)
            return 0
        await outbox.enqueue(conn, list(change.messages), now)
        await audit.append(conn, list(change.events), now)  # last: the chain's lock
        return 1 if change.events else 0

    return await svc.db.write(unit)

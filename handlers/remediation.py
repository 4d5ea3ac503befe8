"""Remediation items: opened by the filing that reaches a code's threshold, then listed,
shown, acknowledged and closed by their owner (or the owner's manager, or an admin).

`open_if_due` runs inside the filing's transaction, so the item, its audit event and its card
commit with the case or not at all (the filing records the event and the card, last). Every
other change is a transaction of its own that saves the item by compare-and-set; a refusal
is recorded in the audit log, then refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.context import Actor, Services
from handlers.errors import Conflict, NotAllowed, NotFound, RationaleRequired
from policy.case_records import CaseRecord
from policy.model import Policy
from policy.names import at_text, name_of
from policy.remediation import (
    ItemStatus,
    close_problem,
    counting_since,
    evidence_of,
    item_ref,
    may_handle,
    may_view_item,
    per_value,
    remediation_for,
    should_open,
)
from policy.remediation_plan import ItemChange, RemediationItem, acknowledge, close, refusal
from policy.remediation_plan import opened as opened_change
from policy.remediation_plan import schedule as item_schedule
from storage import audit, outbox
from storage import remediation as items
from storage.remediation import NewItem

MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class ListRemediation:
    pass


@dataclass(frozen=True, slots=True)
class ShowRemediation:
    item_id: int


@dataclass(frozen=True, slots=True)
class AcknowledgeRemediation:
    item_id: int


@dataclass(frozen=True, slots=True)
class CloseRemediation:
    item_id: int
    root_cause: str | None


RemediationCommand = ListRemediation | ShowRemediation | AcknowledgeRemediation | CloseRemediation
REMEDIATION_COMMANDS = (ListRemediation, ShowRemediation, AcknowledgeRemediation, CloseRemediation)


@dataclass(frozen=True, slots=True)
class RemediationResult:
    item: RemediationItem
    message: str


async def open_if_due(
    conn: AsyncConnection, policy: Policy, case: CaseRecord, now: datetime
) -> ItemChange | None:
    """Open the code's item if this filing is the threshold's case (in the filing's own
    transaction); the opening's events and messages are the caller's to record. None when
    nothing opens, or when a filing beside this one opened the item first."""
    rule = remediation_for(policy, case.code)
    entry = policy.taxonomy.get(case.code)
    if rule is None or entry is None or entry.owner is None:
        return None
    key = per_value(rule, case.request) if rule.per is not None else None
    if rule.per is not None and key is None:
        return None  # a case without the field has no key to count under
    if await items.open_exists(conn, case.code, key):
        return None
    since = counting_since(rule, now, await items.last_closed(conn, case.code, key))
    counted = [
        found
        for _, found in await items.cases_of_code(conn, case.code, since, now)
        if rule.per is None or per_value(rule, found.request) == key
    ]
    if not should_open(rule, len(counted), open_exists=False):
        return None
    schedule = item_schedule(rule, policy.calendar, now)
    new = NewItem(
        code=case.code,
        per_field=rule.per if key is not None else None,
        per_value=key,
        owner=entry.owner,
        opened_at=now,
        due_at=schedule.due_at,
        next_action_at=schedule.next_action_at,
        evidence=evidence_of(counted, entry.playbook),
    )
    # Filings run side by side: `open_exists` above only saves work, the unique index on an
    # open item's code and key decides (`storage.remediation.insert_item`).
    item = await items.insert_item(conn, new)
    return None if item is None else opened_change(policy, item)


async def _write(conn: AsyncConnection, change: ItemChange, now: datetime) -> None:
    await outbox.enqueue(conn, list(change.messages), now)
    await audit.append(conn, list(change.events), now)  # last: it holds the chain to the commit


def may_view(policy: Policy, item: RemediationItem, person: str) -> bool:
    return may_view_item(policy, item.owner, person)


async def items_for(svc: Services, person: str) -> list[RemediationItem]:
    """The open items `person` may see: all of them for admins and auditors, else the ones
    they own or whose owner they manage."""
    async with svc.db.reading() as conn:
        found = await items.list_items(conn)
    return [item for item in found if may_view(svc.policy, item, person)]


async def item_for(svc: Services, person: str, item_id: int) -> RemediationItem:
    async with svc.db.reading() as conn:
        item = await items.get_item(conn, item_id)
    if item is None or not may_view(svc.policy, item, person):
        raise NotFound(f"There is no remediation item {item_ref(item_id)} that you can see.")
    return item


async def acknowledge_item(svc: Services, actor: Actor, item_id: int) -> RemediationResult:
    def make(item: RemediationItem, now: datetime) -> ItemChange:
        if item.status is ItemStatus.ACKNOWLEDGED:
            by = name_of(svc.policy, item.acknowledged_by or "")
            raise Conflict(f"{item.ref} was already acknowledged by {by}.")
        return acknowledge(svc.policy, item, actor, now)

    item = await _change(svc, actor, item_id, "acknowledge", make)
    return RemediationResult(item, f"Acknowledged {item.what}; it is due {at_text(item.due_at)}.")


async def close_item(
    svc: Services, actor: Actor, item_id: int, root_cause: str | None
) -> RemediationResult:
    """Close with the root cause and fix; without them nothing is stored."""
    problem = close_problem(root_cause)
    if problem is not None:
        raise RationaleRequired(problem)
    text = (root_cause or "").strip()
    item = await _change(
        svc, actor, item_id, "close", lambda item, now: close(svc.policy, item, actor, text, now)
    )
    return RemediationResult(item, f"Closed {item.what}. Root cause and fix: {text}")


class _LostRace(Exception):
    """The item changed since it was read; the transaction rolls back and is retried."""


async def _change(
    svc: Services,
    actor: Actor,
    item_id: int,
    attempted: str,
    make: Callable[[RemediationItem, datetime], ItemChange],
) -> RemediationItem:
    for _ in range(MAX_ATTEMPTS):
        try:
            return await _attempt(svc, actor, item_id, attempted, make)
        except _LostRace:
            continue
    raise Conflict("The item is changing quickly right now; please try again.")


async def _attempt(
    svc: Services,
    actor: Actor,
    item_id: int,
    attempted: str,
    make: Callable[[RemediationItem, datetime], ItemChange],
) -> RemediationItem:
    now = svc.clock.now()

    async def unit(conn: AsyncConnection) -> RemediationItem | str:
        """The item as changed, or why this actor may not (the refusal is recorded)."""
        item = await items.get_item(conn, item_id)
        if item is None:
            raise NotFound(f"There is no remediation item {item_ref(item_id)}.")
        refused = may_handle(svc.policy, item.owner, actor.id)
        if refused is None:
            if item.status is ItemStatus.CLOSED:
                raise Conflict(f"{item.ref} is already closed.")
            change = make(item, now)
            # Compare-and-set on the item's version: the loser rolls back and retries.
            if not await items.save_item(conn, item, change.item):
                raise _LostRace
            await _write(conn, change, now)
            return change.item
        await audit.append(conn, [refusal(item, actor, attempted, refused)], now)
        return refused

    outcome = await svc.db.write(unit)
    if isinstance(outcome, str):
        raise NotAllowed(outcome)  # after the commit, so the refusal stays in the log
    return outcome

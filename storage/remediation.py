"""Remediation items: stored, counted for, claimed by the sweep, and where their cards live.

An item is saved by compare-and-set on its `version`, so two changes from the same state
cannot both land. The sweep claims due items with a lease exactly as `storage.overdue` does
for steps: replicas never remind one item twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from policy.lifecycle import case_ref
from policy.remediation import CountedCase, Evidence, ItemStatus
from policy.remediation_plan import RemediationItem
from storage.tables import cases, remediation_card_refs, remediation_items
from storage.upserts import insert_or_update, insert_unless_exists

_OPEN = (ItemStatus.OPEN.value, ItemStatus.ACKNOWLEDGED.value)


@dataclass(frozen=True, slots=True)
class NewItem:
    code: str
    per_field: str | None
    per_value: str | None
    owner: str
    opened_at: datetime
    due_at: datetime
    next_action_at: datetime | None
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class ItemCardRef:
    item_id: int
    person: str
    platform: str
    channel: str
    message_id: str


def _item(row: Any) -> RemediationItem:
    return RemediationItem(
        id=row.id,
        code=row.code,
        per_field=row.per_field,
        per_value=row.per_value,
        owner=row.owner,
        status=ItemStatus(row.status),
        opened_at=row.opened_at,
        due_at=row.due_at,
        evidence=Evidence.read(row.evidence),
        next_action_at=row.next_action_at,
        reminders_sent=row.reminders_sent,
        escalated_at=row.escalated_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        root_cause=row.root_cause,
        version=row.version,
    )


def _key(code: str, per_value: str | None) -> list[ColumnElement[bool]]:
    column = remediation_items.c.per_value
    return [
        remediation_items.c.code == code,
        column.is_(None) if per_value is None else column == per_value,
    ]


async def insert_item(conn: AsyncConnection, new: NewItem) -> RemediationItem | None:
    """Insert an open item; None if its code and key have an open one already (the unique
    partial indexes of migration 0011: of two filings opening it at once, the second waits for
    the first to commit and inserts nothing)."""
    values = {
        "code": new.code,
        "per_field": new.per_field,
        "per_value": new.per_value,
        "owner": new.owner,
        "status": ItemStatus.OPEN.value,
        "opened_at": new.opened_at,
        "due_at": new.due_at,
        "next_action_at": new.next_action_at,
        "evidence": new.evidence.to_json(),
        "version": 1,
    }
    result = await insert_unless_exists(
        conn, remediation_items, values, returning=[remediation_items.c.id]
    )
    item_id = result.scalar()
    return None if item_id is None else await get_item(conn, int(item_id))


async def get_item(conn: AsyncConnection, item_id: int) -> RemediationItem | None:
    row = (
        await conn.execute(select(remediation_items).where(remediation_items.c.id == item_id))
    ).first()
    return None if row is None else _item(row)


async def list_items(
    conn: AsyncConnection, *, owner: str | None = None, open_only: bool = True
) -> list[RemediationItem]:
    """Items oldest first: open ones (or all), of one owner (or everyone's)."""
    query = select(remediation_items).order_by(remediation_items.c.id)
    if open_only:
        query = query.where(remediation_items.c.status.in_(_OPEN))
    if owner is not None:
        query = query.where(remediation_items.c.owner == owner)
    return [_item(row) for row in await conn.execute(query)]


async def closed_items(conn: AsyncConnection, since: datetime) -> list[RemediationItem]:
    """Items closed at or after `since`, in the order they closed."""
    rows = await conn.execute(
        select(remediation_items)
        .where(
            remediation_items.c.status == ItemStatus.CLOSED.value,
            remediation_items.c.closed_at >= since,
        )
        .order_by(remediation_items.c.closed_at, remediation_items.c.id)
    )
    return [_item(row) for row in rows]


async def save_item(conn: AsyncConnection, before: RemediationItem, after: RemediationItem) -> bool:
    """Write `after` if the stored item is still `before` (its version); False if it moved."""
    result = await conn.execute(
        update(remediation_items)
        .where(
            remediation_items.c.id == before.id,
            remediation_items.c.version == before.version,
        )
        .values(
            status=after.status.value,
            next_action_at=after.next_action_at,
            reminders_sent=after.reminders_sent,
            escalated_at=after.escalated_at,
            acknowledged_at=after.acknowledged_at,
            acknowledged_by=after.acknowledged_by,
            closed_at=after.closed_at,
            closed_by=after.closed_by,
            root_cause=after.root_cause,
            version=before.version + 1,
            claimed_until=None,
            claimed_by=None,
        )
    )
    return bool(result.rowcount)


async def open_exists(conn: AsyncConnection, code: str, per_value: str | None) -> bool:
    found = await conn.scalar(
        select(func.count())
        .select_from(remediation_items)
        .where(*_key(code, per_value), remediation_items.c.status.in_(_OPEN))
    )
    return bool(found)


async def last_closed(conn: AsyncConnection, code: str, per_value: str | None) -> datetime | None:
    found: datetime | None = await conn.scalar(
        select(func.max(remediation_items.c.closed_at)).where(
            *_key(code, per_value), remediation_items.c.status == ItemStatus.CLOSED.value
        )
    )
    return found


async def cases_of_code(
    conn: AsyncConnection, code: str, since: datetime, until: datetime
) -> list[tuple[datetime, CountedCase]]:
    """The cases of `code` filed in [since, until], oldest first (a range on the indexed
    filing time; the caller keeps those of its key)."""
    rows = await conn.execute(
        select(
            cases.c.id,
            cases.c.request,
            cases.c.amount,
            cases.c.currency,
            cases.c.status,
            cases.c.created_at,
        )
        .where(cases.c.code == code, cases.c.created_at >= since, cases.c.created_at <= until)
        .order_by(cases.c.created_at, cases.c.id)
    )
    return [
        (
            row.created_at,
            CountedCase(case_ref(row.id), row.request, row.amount, row.currency, row.status),
        )
        for row in rows
    ]


async def claim_due(
    conn: AsyncConnection, now: datetime, owner: str, lease: timedelta, limit: int
) -> list[int]:
    """Claim up to `limit` due, unclaimed open items for `owner`, most overdue first."""
    query = (
        select(remediation_items.c.id)
        .where(
            remediation_items.c.status.in_(_OPEN),
            remediation_items.c.next_action_at <= now,
            or_(
                remediation_items.c.claimed_until.is_(None),
                remediation_items.c.claimed_until <= now,
            ),
        )
        .order_by(remediation_items.c.next_action_at, remediation_items.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=remediation_items)
    claimed = [int(item_id) for item_id in (await conn.execute(query)).scalars()]
    if claimed:
        await conn.execute(
            update(remediation_items)
            .where(remediation_items.c.id.in_(claimed))
            .values(claimed_until=now + lease, claimed_by=owner[:64])
        )
    return claimed


async def holds_claim(conn: AsyncConnection, item_id: int, owner: str, now: datetime) -> bool:
    row = (
        await conn.execute(
            select(remediation_items.c.claimed_by, remediation_items.c.claimed_until).where(
                remediation_items.c.id == item_id
            )
        )
    ).first()
    return (
        row is not None
        and row.claimed_by == owner[:64]
        and row.claimed_until is not None
        and row.claimed_until > now
    )


async def release(conn: AsyncConnection, item_id: int, owner: str) -> None:
    await conn.execute(
        update(remediation_items)
        .where(remediation_items.c.id == item_id, remediation_items.c.claimed_by == owner[:64])
        .values(claimed_until=None, claimed_by=None)
    )


async def card_refs(conn: AsyncConnection, item_id: int) -> list[ItemCardRef]:
    rows = await conn.execute(
        select(remediation_card_refs)
        .where(remediation_card_refs.c.item_id == item_id)
        .order_by(remediation_card_refs.c.person, remediation_card_refs.c.platform)
    )
    return [
        ItemCardRef(row.item_id, row.person, row.platform, row.channel, row.message_id)
        for row in rows
    ]


async def save_card_ref(conn: AsyncConnection, ref: ItemCardRef, now: datetime) -> None:
    """Remember where a card lives (insert, or move it if it was posted again)."""
    values = {"channel": ref.channel, "message_id": ref.message_id, "updated_at": now}
    # An upsert: replicas save refs side by side, and "update, else insert" could insert twice.
    key = {"item_id": ref.item_id, "person": ref.person, "platform": ref.platform}
    await insert_or_update(conn, remediation_card_refs, key, values)

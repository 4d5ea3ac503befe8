"""Webhook deliveries: signed messages for source systems, queued with the change they announce.

Each row is one message: its `message_id` (the `webhook-id` of every attempt) and its exact
body, for one endpoint. Messages of a case go out in order per endpoint: only the oldest
pending message of a (case, endpoint) is ever claimable, so a later one waits while an
earlier one is retried.

What keeps two deliverers (replicas, or a restarted process beside a stalled one) from
sending one message twice at once:
- `claim` runs in a write transaction and stamps `claimed_until`/`claimed_by`; SQLite has
  one writer at a time, and on PostgreSQL (where writers run side by side) the rows are taken
  FOR UPDATE SKIP LOCKED, as storage.outbox does: a row another claim holds is skipped, and
  one it just claimed no longer passes the re-checked WHERE;
  a claimed row, and every later row of its case and endpoint, is invisible to other
  claims until the lease runs out;
- the lease (bot.webhook_delivery) is far longer than an attempt may take (its timeout);
- an attempt's outcome is written only by the deliverer that still holds the claim.
A deliverer that dies mid-attempt leaves its claim to run out; the message is then sent
again with the same webhook-id, which is how receivers recognise a repeat (at least once).
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import webhook_deliveries as deliveries
from storage.tables import webhook_endpoints as endpoints
from storage.upserts import insert_unless_exists

RETRY_FOR = timedelta(days=3)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # given up: a 4xx, or RETRY_FOR of failures; `redeliver` retries it
    DISABLED = "disabled"  # its endpoint answered 410 Gone; waits for `redeliver`

    @property
    def needs_operator(self) -> bool:
        return self in (DeliveryStatus.FAILED, DeliveryStatus.DISABLED)


@dataclass(frozen=True, slots=True)
class NewWebhook:
    case_id: int
    endpoint: str
    url: str
    event_type: str
    payload: str  # the body, as sent


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    message_id: str
    case_id: int
    endpoint: str
    url: str
    event_type: str
    payload: str
    created_at: datetime
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    retry_until: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        message_id=row.message_id,
        case_id=row.case_id,
        endpoint=row.endpoint,
        url=row.url,
        event_type=row.event_type,
        payload=row.payload,
        created_at=row.created_at,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        retry_until=row.retry_until,
        last_status=row.last_status,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
    )


async def disabled_endpoints(conn: AsyncConnection) -> set[str]:
    return set((await conn.scalars(select(endpoints.c.key))).all())


async def enqueue(conn: AsyncConnection, webhooks: list[NewWebhook], now: datetime) -> None:
    """Queue messages in the order given; those for a disabled endpoint wait as disabled."""
    if not webhooks:
        return
    disabled = await disabled_endpoints(conn)
    await conn.execute(
        insert(deliveries),
        [
            {
                "message_id": f"msg_{uuid.uuid4().hex}",
                "case_id": w.case_id,
                "endpoint": w.endpoint,
                "url": w.url,
                "event_type": w.event_type,
                "payload": w.payload,
                "created_at": now,
                "status": (
                    DeliveryStatus.DISABLED if w.endpoint in disabled else DeliveryStatus.PENDING
                ).value,
                "attempts": 0,
                "next_attempt_at": now,
                "retry_until": now + RETRY_FOR,
            }
            for w in webhooks
        ],
    )


def _claimable(now: datetime) -> list[Any]:
    return [
        deliveries.c.status == DeliveryStatus.PENDING.value,
        deliveries.c.next_attempt_at <= now,
        or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until <= now),
    ]


async def any_due(conn: AsyncConnection, now: datetime) -> bool:
    """Whether `claim` could find anything: a read, so an idle deliverer never writes."""
    return bool(await conn.scalar(select(exists().where(*_claimable(now)))))


async def claim(
    conn: AsyncConnection, now: datetime, owner: str, lease: timedelta, limit: int = 10
) -> list[Delivery]:
    """Claim for `owner`, until now + lease, the due messages that are each the oldest pending
    one of their case and endpoint (so at most one per case and endpoint). Run it in a write
    transaction."""
    older = deliveries.alias("older")
    query = (
        select(deliveries)
        .where(
            *_claimable(now),
            ~exists().where(
                older.c.case_id == deliveries.c.case_id,
                older.c.endpoint == deliveries.c.endpoint,
                older.c.status == DeliveryStatus.PENDING.value,
                older.c.id < deliveries.c.id,
            ),
        )
        .order_by(deliveries.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=deliveries)
    claimed = [_delivery(row) for row in await conn.execute(query)]
    if claimed:
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_([d.id for d in claimed]))
            .values(claimed_until=now + lease, claimed_by=owner[:64])
        )
    return claimed


async def _finish(conn: AsyncConnection, delivery_id: int, owner: str, **values: Any) -> bool:
    """Write an attempt's outcome if `owner` still holds the claim; False if it lost it."""
    result = await conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.claimed_by == owner[:64])
        .values(attempts=deliveries.c.attempts + 1, claimed_until=None, claimed_by=None, **values)
    )
    return bool(result.rowcount)


async def mark_delivered(
    conn: AsyncConnection, delivery_id: int, owner: str, url: str, status: int, now: datetime
) -> bool:
    return await _finish(
        conn,
        delivery_id,
        owner,
        status=DeliveryStatus.DELIVERED.value,
        url=url,
        last_status=status,
        last_error=None,
        delivered_at=now,
    )


async def mark_retry(
    conn: AsyncConnection,
    delivery_id: int,
    owner: str,
    url: str,
    status: int | None,
    error: str,
    next_attempt_at: datetime,
) -> bool:
    return await _finish(
        conn,
        delivery_id,
        owner,
        url=url,
        last_status=status,
        last_error=error[:2000],
        next_attempt_at=next_attempt_at,
    )


async def mark_failed(
    conn: AsyncConnection, delivery_id: int, owner: str, url: str, status: int | None, error: str
) -> bool:
    return await _finish(
        conn,
        delivery_id,
        owner,
        status=DeliveryStatus.FAILED.value,
        url=url,
        last_status=status,
        last_error=error[:2000],
    )


async def disable_endpoint(
    conn: AsyncConnection,
    delivery_id: int,
    owner: str,
    endpoint: str,
    url: str,
    reason: str,
    now: datetime,
) -> bool:
    """The endpoint answered 410 to this message: disable it, and let this message and every
    pending one of the endpoint wait as disabled. True if it was not disabled before."""
    await _finish(
        conn,
        delivery_id,
        owner,
        status=DeliveryStatus.DISABLED.value,
        url=url,
        last_status=410,
        last_error=reason[:2000],
    )
    await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.endpoint == endpoint,
            deliveries.c.status == DeliveryStatus.PENDING.value,
        )
        # A claim stays: a deliverer with one in flight writes its own outcome over this.
        .values(status=DeliveryStatus.DISABLED.value)
    )
    # Two deliverers told 410 at once: the key settles which one disabled it.
    values = {"key": endpoint, "url": url, "disabled_at": now, "reason": reason[:2000]}
    return bool((await insert_unless_exists(conn, endpoints, values)).rowcount)


async def release(conn: AsyncConnection, owner: str) -> None:
    """Give up `owner`'s claims (a deliverer stopping), so another may send them at once."""
    await conn.execute(
        update(deliveries)
        .where(deliveries.c.claimed_by == owner[:64])
        .values(claimed_until=None, claimed_by=None)
    )


async def listing(
    conn: AsyncConnection, *, needs_operator: bool = False, limit: int = 200
) -> list[Delivery]:
    """The newest messages first; `needs_operator`: only failed and disabled ones."""
    query = select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
    if needs_operator:
        wanted = [s.value for s in DeliveryStatus if s.needs_operator]
        query = query.where(deliveries.c.status.in_(wanted))
    return [_delivery(row) for row in await conn.execute(query)]


async def find(conn: AsyncConnection, key: str) -> Delivery | None:
    """A message by its row id (`12`) or its webhook-id (`msg_...`)."""
    if key.isascii() and key.isdigit():
        where = deliveries.c.id == int(key)
    else:
        where = deliveries.c.message_id == key
    row = (await conn.execute(select(deliveries).where(where))).one_or_none()
    return _delivery(row) if row is not None else None


# Queued again: the claims stay, so one still in flight is never claimed twice.
_AGAIN = {"status": DeliveryStatus.PENDING.value, "attempts": 0}


async def redeliver(conn: AsyncConnection, delivery: Delivery, now: datetime) -> int:
    """Queue one message that is not pending (delivered, failed or disabled) again now, with
    the same webhook-id. A message of a disabled endpoint re-enables the endpoint, and its
    other disabled messages are queued again with it (they only waited for it). Returns how
    many were queued."""
    again = {**_AGAIN, "next_attempt_at": now, "retry_until": now + RETRY_FOR}
    await conn.execute(update(deliveries).where(deliveries.c.id == delivery.id).values(**again))
    if delivery.status is not DeliveryStatus.DISABLED:
        return 1
    await conn.execute(delete(endpoints).where(endpoints.c.key == delivery.endpoint))
    result = await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.endpoint == delivery.endpoint,
            deliveries.c.status == DeliveryStatus.DISABLED.value,
        )
        .values(**again)
    )
    return 1 + int(result.rowcount)


async def redeliver_failed(conn: AsyncConnection, now: datetime) -> int:
    """Queue every failed and disabled message again now, and re-enable every endpoint."""
    await conn.execute(delete(endpoints))
    wanted = [s.value for s in DeliveryStatus if s.needs_operator]
    result = await conn.execute(
        update(deliveries)
        .where(deliveries.c.status.in_(wanted))
        .values(**_AGAIN, next_attempt_at=now, retry_until=now + RETRY_FOR)
    )
    return int(result.rowcount)


async def oldest_undelivered(conn: AsyncConnection) -> datetime | None:
    """When the oldest message not yet delivered (pending or disabled) was queued."""
    waiting = [DeliveryStatus.PENDING.value, DeliveryStatus.DISABLED.value]
    oldest: datetime | None = await conn.scalar(
        select(func.min(deliveries.c.created_at)).where(deliveries.c.status.in_(waiting))
    )
    return oldest

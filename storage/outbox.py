"""The outbox: messages for people, written in the same transaction as the change they announce.

Messages are platform-neutral. A card message names a case (or a policy version) and a person;
the deliverer renders the card from the stored state at delivery time, so delivering one twice
shows the same thing. What a message carries besides is kept in its row's JSON `payload`.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from policy.digest import DigestLine
from policy.effects import MessageKind as MessageKind
from policy.effects import OutgoingMessage as OutgoingMessage
from policy.effects import Proposal
from storage.tables import card_refs, outbox
from storage.upserts import insert_or_update

MAX_ATTEMPTS = 10


class MessageStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after MAX_ATTEMPTS; kept for operators


@dataclass(frozen=True, slots=True)
class PendingMessage:
    id: int
    kind: MessageKind
    case_id: int | None
    recipient: str | None
    text: str | None
    attempts: int
    policy_version_id: int | None = None
    proposal: Proposal | None = None
    remediation_id: int | None = None
    digest: tuple[DigestLine, ...] = ()


@dataclass(frozen=True, slots=True)
class CardRef:
    case_id: int
    person: str
    platform: str
    channel: str
    message_id: str


async def enqueue(conn: AsyncConnection, messages: list[OutgoingMessage], now: datetime) -> None:
    if not messages:
        return
    await conn.execute(
        insert(outbox),
        [
            {
                "created_at": now,
                "kind": m.kind.value,
                "case_id": m.case_id,
                "recipient": m.recipient,
                "payload": _payload(m),
                "status": MessageStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
            }
            for m in messages
        ],
    )


def _payload(message: OutgoingMessage) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if message.text is not None:
        payload["text"] = message.text
    if message.policy_version_id is not None:
        payload["policy_version_id"] = message.policy_version_id
    if message.proposal is not None:
        proposal = message.proposal
        payload["proposal"] = {
            "reason": proposal.reason,
            "diff": proposal.diff,
            "backtest": list(proposal.backtest),
        }
    if message.remediation_id is not None:
        payload["remediation_id"] = message.remediation_id
    if message.digest:
        payload["digest"] = [line.to_json() for line in message.digest]
    return payload


def proposal_from_payload(payload: Any) -> Proposal | None:
    """The proposal a message's payload carries, or None (none, or not one we wrote)."""
    found = payload.get("proposal") if isinstance(payload, dict) else None
    if not isinstance(found, dict):
        return None
    backtest = found.get("backtest")
    lines = tuple(str(line) for line in backtest) if isinstance(backtest, list) else ()
    return Proposal(str(found.get("reason") or ""), str(found.get("diff") or ""), lines)


def _pending(row: Any) -> PendingMessage:
    version_id = row.payload.get("policy_version_id")
    return PendingMessage(
        id=row.id,
        kind=MessageKind(row.kind),
        case_id=row.case_id,
        recipient=row.recipient,
        text=row.payload.get("text"),
        attempts=row.attempts,
        policy_version_id=version_id if isinstance(version_id, int) else None,
        proposal=proposal_from_payload(row.payload),
        remediation_id=_int(row.payload.get("remediation_id")),
        digest=_digest(row.payload.get("digest")),
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _digest(value: Any) -> tuple[DigestLine, ...]:
    lines = value if isinstance(value, list) else []
    return tuple(line for raw in lines if (line := DigestLine.read(raw)) is not None)


def _due_query(now: datetime, limit: int) -> Select[Any]:
    return (
        select(outbox)
        .where(
            outbox.c.status == MessageStatus.PENDING.value,
            outbox.c.next_attempt_at <= now,
            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now),
        )
        .order_by(outbox.c.id)
        .limit(limit)
    )


async def due(conn: AsyncConnection, now: datetime, limit: int = 100) -> list[PendingMessage]:
    """Pending messages whose next attempt is due and that nobody has claimed, oldest first."""
    return [_pending(row) for row in await conn.execute(_due_query(now, limit))]


async def claim(
    conn: AsyncConnection,
    now: datetime,
    owner: str,
    lease: timedelta,
    limit: int = 50,
    *,
    only_for: Collection[str] | None = None,
) -> list[PendingMessage]:
    """Claim due messages for `owner` until now + lease (`only_for`: only messages for these
    people, none without a recipient). Run it in a write transaction.

    On PostgreSQL, where writers run side by side, rows another deliverer is claiming at this
    moment are skipped (row locks, FOR UPDATE SKIP LOCKED) rather than waited for, and a row
    claimed by a claim that just committed fails the re-checked WHERE; on SQLite there is one
    writer at a time. Appends no audit event, so it takes no chain lock.
    """
    query = _due_query(now, limit)
    if only_for is not None:
        query = query.where(outbox.c.recipient.in_(sorted(only_for)))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=outbox)
    messages = [_pending(row) for row in await conn.execute(query)]
    if messages:
        await conn.execute(
            update(outbox)
            .where(outbox.c.id.in_([m.id for m in messages]))
            .values(claimed_until=now + lease, claimed_by=owner[:64])
        )
    return messages


async def mark_delivered(conn: AsyncConnection, message_id: int, now: datetime) -> None:
    await conn.execute(
        update(outbox)
        .where(outbox.c.id == message_id)
        .values(
            status=MessageStatus.DELIVERED.value,
            delivered_at=now,
            last_error=None,
            claimed_until=None,
            claimed_by=None,
        )
    )


async def mark_failed(
    conn: AsyncConnection,
    message: PendingMessage,
    error: str,
    now: datetime,
    retry_in: timedelta,
    *,
    give_up: bool = False,
) -> None:
    """Schedule another attempt, or give up (after MAX_ATTEMPTS, or at once if told to)."""
    attempts = message.attempts + 1
    dead = give_up or attempts >= MAX_ATTEMPTS
    status = MessageStatus.DEAD if dead else MessageStatus.PENDING
    await conn.execute(
        update(outbox)
        .where(outbox.c.id == message.id)
        .values(
            status=status.value,
            attempts=attempts,
            last_error=error[:2000],
            next_attempt_at=now + retry_in,
            claimed_until=None,
            claimed_by=None,
        )
    )


async def pending_count(conn: AsyncConnection) -> int:
    count = await conn.scalar(
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.status == MessageStatus.PENDING.value)
    )
    return int(count or 0)


async def oldest_pending(conn: AsyncConnection) -> datetime | None:
    """When the oldest chat message not delivered yet was queued."""
    oldest: datetime | None = await conn.scalar(
        select(func.min(outbox.c.created_at)).where(outbox.c.status == MessageStatus.PENDING.value)
    )
    return oldest


async def card_refs_for_case(
    conn: AsyncConnection, case_id: int, platform: str | None = None
) -> list[CardRef]:
    query = select(card_refs).where(card_refs.c.case_id == case_id)
    if platform is not None:
        query = query.where(card_refs.c.platform == platform)
    rows = await conn.execute(query.order_by(card_refs.c.person))
    return [
        CardRef(row.case_id, row.person, row.platform, row.channel, row.message_id) for row in rows
    ]


async def save_card_ref(conn: AsyncConnection, ref: CardRef, now: datetime) -> None:
    """Remember where a card lives (insert, or move it if it was re-posted)."""
    values: dict[str, Any] = {
        "channel": ref.channel,
        "message_id": ref.message_id,
        "updated_at": now,
    }
    # An upsert, not "update, else insert": two deliverers saving the same card at once
    # (replicas write side by side) must not both insert.
    key = {"case_id": ref.case_id, "person": ref.person, "platform": ref.platform}
    await insert_or_update(conn, card_refs, key, values)

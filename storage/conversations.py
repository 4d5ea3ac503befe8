"""Where the bot can reach a Teams user: the conversation reference of their 1:1 chat.

Teams lets a bot message someone only through a conversation on a service URL. References are
stored on first contact (installation, any message) and when the bot opens a chat itself, so
approvers and managers can be messaged proactively, after restarts too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import teams_conversations
from storage.upserts import insert_or_update


@dataclass(frozen=True, slots=True)
class ConversationRef:
    user_id: str
    person: str | None
    service_url: str
    conversation_id: str
    tenant_id: str | None


def _ref(row: Any) -> ConversationRef:
    return ConversationRef(
        user_id=row.user_id,
        person=row.person,
        service_url=row.service_url,
        conversation_id=row.conversation_id,
        tenant_id=row.tenant_id,
    )


async def remember(conn: AsyncConnection, ref: ConversationRef, now: datetime) -> None:
    values = {
        "person": ref.person,
        "service_url": ref.service_url,
        "conversation_id": ref.conversation_id,
        "tenant_id": ref.tenant_id,
        "updated_at": now,
    }
    # An upsert: two messages from a new user reaching two replicas at once both store it.
    await insert_or_update(conn, teams_conversations, {"user_id": ref.user_id}, values)


async def for_person(conn: AsyncConnection, person: str) -> ConversationRef | None:
    row = (
        await conn.execute(
            select(teams_conversations)
            .where(teams_conversations.c.person == person)
            .order_by(teams_conversations.c.updated_at.desc())
            .limit(1)
        )
    ).first()
    return _ref(row) if row else None


async def newest(conn: AsyncConnection) -> ConversationRef | None:
    """Any recent reference: its service URL and tenant let the bot open new chats."""
    row = (
        await conn.execute(
            select(teams_conversations).order_by(teams_conversations.c.updated_at.desc()).limit(1)
        )
    ).first()
    return _ref(row) if row else None

"""Whether chat platforms deliver with this database: the traces their deliveries leave."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import card_refs, policy_card_refs, remediation_card_refs, teams_conversations

CONSOLE = "console"


async def chat_platforms_used(conn: AsyncConnection) -> set[str]:
    """The platforms, other than the console, that posted a card here, and Teams if it has
    a person's chat on record."""
    found: set[str] = set()
    for table in (card_refs, policy_card_refs, remediation_card_refs):
        rows = await conn.execute(
            select(table.c.platform).where(table.c.platform != CONSOLE).distinct()
        )
        found.update(row.platform for row in rows)
    if await conn.scalar(select(teams_conversations.c.user_id).limit(1)) is not None:
        found.add("teams")
    return found

"""The cards of policy proposals: where each admin's copy lives, and what was proposed.

A proposal's card is posted to every other admin on every platform that reaches them; each
copy's place is kept here, so a decision (or a later version superseding it) edits them all.
What the proposal was (its reason, diff and backtest summary) travels with its card messages in
the outbox, and the decision line (who decided, and why) with the update a decision sends; each
render reads both back from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from policy.effects import MessageKind, Proposal
from storage.outbox import proposal_from_payload
from storage.tables import outbox, policy_card_refs
from storage.upserts import insert_or_update


@dataclass(frozen=True, slots=True)
class PolicyCardRef:
    version_id: int
    person: str
    platform: str
    channel: str
    message_id: str


async def refs_for(conn: AsyncConnection, version_id: int) -> list[PolicyCardRef]:
    rows = await conn.execute(
        select(policy_card_refs)
        .where(policy_card_refs.c.version_id == version_id)
        .order_by(policy_card_refs.c.person, policy_card_refs.c.platform)
    )
    return [
        PolicyCardRef(row.version_id, row.person, row.platform, row.channel, row.message_id)
        for row in rows
    ]


async def save_ref(conn: AsyncConnection, ref: PolicyCardRef, now: datetime) -> None:
    """Remember where a card lives (insert, or move it if it was posted again)."""
    values = {"channel": ref.channel, "message_id": ref.message_id, "updated_at": now}
    # An upsert: replicas save refs side by side, and "update, else insert" could insert twice.
    key = {"version_id": ref.version_id, "person": ref.person, "platform": ref.platform}
    await insert_or_update(conn, policy_card_refs, key, values)


async def _newest_payload(conn: AsyncConnection, kind: MessageKind, version_id: int) -> Any:
    return await conn.scalar(
        select(outbox.c.payload)
        .where(
            outbox.c.kind == kind.value,
            outbox.c.payload["policy_version_id"].as_integer() == version_id,
        )
        .order_by(outbox.c.id.desc())
        .limit(1)
    )


async def proposal_of(conn: AsyncConnection, version_id: int) -> Proposal | None:
    """What was proposed, from the newest card message of the version (None if there is none:
    a version from the file, or one proposed before proposals had cards)."""
    return proposal_from_payload(await _newest_payload(conn, MessageKind.POLICY_CARD, version_id))


async def decision_of(conn: AsyncConnection, version_id: int) -> str | None:
    """The newest decision line of the version's cards, or None while it is undecided."""
    payload = await _newest_payload(conn, MessageKind.POLICY_UPDATE, version_id)
    text = payload.get("text") if isinstance(payload, dict) else None
    return text if isinstance(text, str) else None

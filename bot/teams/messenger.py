"""The messaging port on Teams: cards and notes in each person's 1:1 chat with the bot."""

from __future__ import annotations

from typing import Any

from bot.messaging import DeliveryError, PostedCard, Unreachable
from bot.teams.connector import BotConnector
from cards.proposal_view import ProposalView
from cards.remediation_view import DigestView, RemediationView
from cards.teams import approval_card, fallback_text
from cards.teams_proposal import fallback_text as proposal_fallback
from cards.teams_proposal import proposal_card
from cards.teams_remediation import digest_card, remediation_card
from cards.view import CardView
from handlers.clock import Clock
from policy.model import Person
from storage import conversations
from storage.conversations import ConversationRef
from storage.database import Database

PLATFORM = "teams"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


def card_activity(view: CardView, refresh_for: str | None) -> dict[str, Any]:
    """A message carrying the card; cards with buttons refresh themselves for `refresh_for`."""
    refresh = [refresh_for] if refresh_for and view.buttons else []
    return {
        "type": "message",
        "summary": fallback_text(view),
        "attachments": [
            {"contentType": ADAPTIVE_CARD, "content": approval_card(view, refresh_user_ids=refresh)}
        ],
    }


def proposal_activity(view: ProposalView) -> dict[str, Any]:
    """A message carrying a policy proposal's card."""
    return {
        "type": "message",
        "summary": proposal_fallback(view),
        "attachments": [{"contentType": ADAPTIVE_CARD, "content": proposal_card(view)}],
    }


def card_message(content: dict[str, Any], summary: str) -> dict[str, Any]:
    """A message carrying one Adaptive Card."""
    return {
        "type": "message",
        "summary": summary,
        "attachments": [{"contentType": ADAPTIVE_CARD, "content": content}],
    }


class TeamsMessenger:
    platform = PLATFORM

    def __init__(self, connector: BotConnector, db: Database, clock: Clock, app_id: str) -> None:
        self.connector = connector
        self.db = db
        self.clock = clock
        self.bot_id = f"28:{app_id}"

    def reaches(self, person: Person) -> bool:
        return person.teams is not None or person.aad is not None

    async def _chat(self, person: Person) -> ConversationRef:
        """The person's 1:1 chat, opened by the bot if they never wrote to it."""
        async with self.db.reading() as conn:
            known = await conversations.for_person(conn, person.id)
            anchor = known or await conversations.newest(conn)
        if known is not None:
            return known
        user_id = person.teams or person.aad
        if anchor is None or user_id is None:
            # Nobody in this organisation has reached the bot yet: no service URL to use.
            raise Unreachable(person.id)
        conversation = await self.connector.open_personal_chat(
            anchor.service_url, anchor.tenant_id, self.bot_id, user_id
        )
        ref = ConversationRef(
            user_id, person.id, anchor.service_url, conversation, anchor.tenant_id
        )
        now = self.clock.now()
        await self.db.write(lambda conn: conversations.remember(conn, ref, now))
        return ref

    async def _post(self, chat: ConversationRef, activity: dict[str, Any]) -> PostedCard:
        activity_id = await self.connector.send(chat.service_url, chat.conversation_id, activity)
        return PostedCard(channel=chat.conversation_id, message_id=activity_id)

    async def _update(
        self, chat: ConversationRef, where: PostedCard, activity: dict[str, Any]
    ) -> None:
        try:
            await self.connector.update(chat.service_url, where.channel, where.message_id, activity)
        except DeliveryError as error:
            if error.status == 404:
                return  # the card was deleted in Teams; nothing is left to update
            raise

    async def post_card(self, person: Person, view: CardView) -> PostedCard:
        chat = await self._chat(person)
        return await self._post(chat, card_activity(view, chat.user_id))

    async def update_card(self, person: Person, where: PostedCard, view: CardView) -> None:
        chat = await self._chat(person)
        await self._update(chat, where, card_activity(view, chat.user_id))

    async def post_proposal(self, person: Person, view: ProposalView) -> PostedCard:
        return await self._post(await self._chat(person), proposal_activity(view))

    async def update_proposal(self, person: Person, where: PostedCard, view: ProposalView) -> None:
        await self._update(await self._chat(person), where, proposal_activity(view))

    async def post_remediation(self, person: Person, view: RemediationView) -> PostedCard:
        activity = card_message(remediation_card(view), view.headline)
        return await self._post(await self._chat(person), activity)

    async def update_remediation(
        self, person: Person, where: PostedCard, view: RemediationView
    ) -> None:
        activity = card_message(remediation_card(view), view.headline)
        await self._update(await self._chat(person), where, activity)

    async def post_digest(self, person: Person, view: DigestView) -> None:
        activity = card_message(digest_card(view), view.headline)
        await self._post(await self._chat(person), activity)

    async def notify(self, person: Person, text: str) -> None:
        chat = await self._chat(person)
        await self.connector.send(
            chat.service_url, chat.conversation_id, {"type": "message", "text": text}
        )

"""The messaging port on Slack: cards and notes as direct messages from the bot."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.messaging import DeliveryError, PostedCard, Unreachable
from bot.slack.directory import SlackDirectory
from cards.proposal_view import ProposalView
from cards.remediation_view import DigestView, RemediationView
from cards.slack import card_message
from cards.slack_proposal import proposal_message
from cards.slack_remediation import digest_message, remediation_message
from cards.view import CardView
from policy.model import Person

PLATFORM = "slack"

# Errors that no retry will fix: the message is given up (and kept in the outbox as dead).
_PERMANENT = {
    "invalid_blocks",
    "invalid_arguments",
    "msg_too_long",
    "no_text",
    "channel_not_found",
    "is_archived",
    "not_in_channel",
    "user_disabled",
    "cannot_dm_bot",
    "missing_scope",
    "not_authed",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
}


def delivery_error(error: SlackApiError) -> DeliveryError:
    """A Slack failure as the deliverer understands it (retry when, or give up)."""
    response = error.response
    code = str(response.get("error") or f"HTTP {response.status_code}")
    retry_after: float | None = None
    if response.status_code == 429:
        header = (response.headers or {}).get("Retry-After") or (response.headers or {}).get(
            "retry-after"
        )
        retry_after = float(header) if header else None
    return DeliveryError(f"Slack: {code}", retry_after=retry_after, permanent=code in _PERMANENT)


class SlackMessenger:
    platform = PLATFORM

    def __init__(self, client: AsyncWebClient, directory: SlackDirectory) -> None:
        self.client = client
        self.directory = directory

    def reaches(self, person: Person) -> bool:
        """People with a Slack id, and people with no Teams id (found by email on Slack)."""
        return person.slack is not None or (person.teams is None and person.aad is None)

    async def _dm_channel(self, person: Person) -> str:
        user_id = await self.directory.user_id_for(person)
        if user_id is None:
            raise Unreachable(person.id)
        response = await self.client.conversations_open(users=user_id)
        return str(response["channel"]["id"])

    async def _post(self, person: Person, message: dict[str, Any]) -> PostedCard:
        try:
            channel = await self._dm_channel(person)
            response = await self.client.chat_postMessage(channel=channel, **message)
        except SlackApiError as error:
            raise delivery_error(error) from error
        return PostedCard(channel=str(response["channel"]), message_id=str(response["ts"]))

    async def _update(self, where: PostedCard, message: dict[str, Any]) -> None:
        try:
            await self.client.chat_update(channel=where.channel, ts=where.message_id, **message)
        except SlackApiError as error:
            if error.response.get("error") == "message_not_found":
                return  # the card was deleted in Slack; there is nothing left to update
            raise delivery_error(error) from error

    async def post_card(self, person: Person, view: CardView) -> PostedCard:
        return await self._post(person, card_message(view))

    async def update_card(self, person: Person, where: PostedCard, view: CardView) -> None:
        await self._update(where, card_message(view))

    async def post_proposal(self, person: Person, view: ProposalView) -> PostedCard:
        return await self._post(person, proposal_message(view))

    async def update_proposal(self, person: Person, where: PostedCard, view: ProposalView) -> None:
        await self._update(where, proposal_message(view))

    async def post_remediation(self, person: Person, view: RemediationView) -> PostedCard:
        return await self._post(person, remediation_message(view))

    async def update_remediation(
        self, person: Person, where: PostedCard, view: RemediationView
    ) -> None:
        await self._update(where, remediation_message(view))

    async def post_digest(self, person: Person, view: DigestView) -> None:
        await self._post(person, digest_message(view))

    async def notify(self, person: Person, text: str) -> None:
        try:
            channel = await self._dm_channel(person)
            await self.client.chat_postMessage(channel=channel, text=text)
        except SlackApiError as error:
            raise delivery_error(error) from error

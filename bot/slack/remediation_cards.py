"""Presses on a remediation item's card and on a digest in Slack.

Acknowledge runs `/approvals remediation ack` at once; Close asks the root cause and fix in a
modal first (required), then runs `/approvals remediation close`; a digest's Open button
posts (or updates) that case's or item's card in the presser's DM. The handlers decide
everything; the presser is told the reply or the refusal, ephemerally. A button value that is
not ours is answered with a message and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot.remediation_chat import remediation_reply
from bot.replies import error_text
from bot.slack.interactions import PLATFORM, UNKNOWN_USER, SlackInteractions, Where
from bot.slack.reading import as_object, as_text, state_values, user_id
from cards import actions
from cards import slack_remediation as cards
from handlers.context import Actor
from handlers.digest import open_card
from handlers.remediation import AcknowledgeRemediation, CloseRemediation, RemediationCommand
from policy.lifecycle import case_ref
from policy.remediation import item_ref

log = logging.getLogger(__name__)

NOT_OURS = "That button does not name a remediation item or a case; nothing was done."
NO_ROOT_CAUSE = "Please give the root cause and the fix: they are kept in the audit log."


def register(app: AsyncApp, interactions: SlackInteractions) -> None:
    on_cards = SlackRemediationCards(interactions)
    spawn = interactions.deps.tasks.spawn

    async def on_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        spawn(on_cards.pressed(body), "slack-remediation-button")

    for action_id in (*actions.REMEDIATION_ACTIONS, actions.DIGEST_OPEN):
        app.action(action_id)(on_button)

    @app.view(cards.CLOSE_CALLBACK)
    async def on_close(ack: AsyncAck, body: dict[str, Any]) -> None:
        if cards.root_cause_value(state_values(body)) is None:
            await ack(response_action="errors", errors={cards.ROOT_CAUSE_BLOCK: NO_ROOT_CAUSE})
            return
        await ack()
        spawn(on_cards.closed(body), "slack-remediation-close")


class SlackRemediationCards:
    def __init__(self, interactions: SlackInteractions) -> None:
        self.interactions = interactions

    async def pressed(self, body: Mapping[str, Any]) -> None:
        user = user_id(body)
        if not user:
            log.warning("dropped a Slack remediation press with no user")
            return
        channel = as_text(as_object(body.get("channel")).get("id")) or None
        where = Where(user, channel)
        presses = body.get("actions")
        pressed = as_object(presses[0]) if isinstance(presses, list) and presses else {}
        action_id, value = as_text(pressed.get("action_id")), as_text(pressed.get("value"))
        if action_id == actions.DIGEST_OPEN:
            await self._open(value, where)
            return
        item_id = actions.parse_remediation_button_value(value)
        if item_id is None or action_id not in actions.REMEDIATION_ACTIONS:
            log.warning("a Slack press of %s named no remediation item", action_id[:40])
            await self.interactions.tell(where, NOT_OURS)
            return
        if action_id == actions.REMEDIATION_ACK:
            await self._run(AcknowledgeRemediation(item_id), where)
            return
        metadata = cards.close_metadata(item_id, where.channel)
        modal = cards.close_modal(ref=item_ref(item_id), private_metadata=metadata)
        try:
            await self.interactions.deps.client.views_open(
                trigger_id=as_text(body.get("trigger_id")), view=modal
            )
        except SlackApiError as error:
            log.warning("views.open failed: %s", error.response.get("error"))
            await self.interactions.tell(
                where, "Slack did not open the form in time; please press again."
            )

    async def closed(self, body: Mapping[str, Any]) -> None:
        """The close modal was submitted (with a root cause: `on_close` saw to that)."""
        meta = cards.read_close_metadata(
            as_text(as_object(body.get("view")).get("private_metadata"))
        )
        user = user_id(body)
        if meta is None or not user:
            log.warning("dropped a remediation close form with unreadable metadata")
            return
        item_id, channel = meta
        root_cause = cards.root_cause_value(state_values(body))
        await self._run(CloseRemediation(item_id, root_cause), Where(user, channel))

    async def _actor(self, where: Where) -> Actor | None:
        person = await self.interactions.deps.directory.person_for(where.user)
        if person is None:
            await self.interactions.tell(where, UNKNOWN_USER)
            return None
        return Actor(person.id, PLATFORM, where.user)

    async def _run(self, command: RemediationCommand, where: Where) -> None:
        actor = await self._actor(where)
        if actor is None:
            return
        try:
            reply = await remediation_reply(self.interactions.svc, actor, command)
        except Exception as error:
            await self.interactions.tell(where, error_text(error))
            return
        self.interactions.deps.wake_delivery()
        await self.interactions.tell(where, reply)

    async def _open(self, value: str, where: Where) -> None:
        target = actions.parse_open_button_value(value)
        actor = await self._actor(where) if target is not None else None
        if target is None:
            await self.interactions.tell(where, NOT_OURS)
        if target is None or actor is None:
            return
        kind, target_id = target
        try:
            await open_card(self.interactions.svc, actor, kind, target_id)
        except Exception as error:
            await self.interactions.tell(where, error_text(error))
            return
        self.interactions.deps.wake_delivery()
        ref = item_ref(target_id) if kind == "remediation" else case_ref(target_id)
        log.info("digest: %s opened %s", actor.id, ref)

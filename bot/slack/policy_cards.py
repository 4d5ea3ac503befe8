"""Presses on a policy proposal's card in Slack: Approve, and Reject with its reason modal.

Approve decides at once: the button carries Slack's own confirm dialog, a note is optional
(`/policy approve POL-... note` takes one), and a modal would only delay the answer to a press
the handler refuses. Reject asks for the reason in a modal first. Either way the press becomes
`PolicyDecide`, and the handler decides everything (roles, four eyes, the version's state);
the presser is told its reply or its refusal, ephemerally. A button value that is not ours is
answered with a message and dropped.

`register` adds the Bolt listeners (acknowledge at once, work in a kept background task, as in
bot.slack.listeners, which calls it before its catch-all listeners).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot.replies import error_text
from bot.slack.interactions import PLATFORM, UNKNOWN_USER, SlackInteractions, Where
from bot.slack.reading import as_object, as_text, state_values, user_id
from cards import actions
from cards import slack_proposal as cards
from handlers.commands import PolicyDecide
from handlers.context import Actor
from handlers.policy_admin import run_policy_command

log = logging.getLogger(__name__)

NOT_OURS = "That button does not name a policy proposal; nothing was done."
NO_REASON = "Please give a reason: the proposer is told, and it is kept in the audit log."


def register(app: AsyncApp, interactions: SlackInteractions) -> None:
    on_cards = SlackPolicyCards(interactions)
    spawn = interactions.deps.tasks.spawn

    async def on_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        spawn(on_cards.pressed(body), "slack-policy-button")

    for action_id in actions.POLICY_DECISIONS:
        app.action(action_id)(on_button)

    @app.view(cards.REJECT_CALLBACK)
    async def on_reject(ack: AsyncAck, body: dict[str, Any]) -> None:
        if cards.reason_value(state_values(body)) is None:
            await ack(response_action="errors", errors={cards.REASON_BLOCK: NO_REASON})
            return
        await ack()
        spawn(on_cards.rejected(body), "slack-policy-reject")


class SlackPolicyCards:
    def __init__(self, interactions: SlackInteractions) -> None:
        self.interactions = interactions

    async def pressed(self, body: Mapping[str, Any]) -> None:
        user = user_id(body)
        if not user:
            log.warning("dropped a Slack policy card press with no user")
            return
        channel = as_text(as_object(body.get("channel")).get("id")) or None
        where = Where(user, channel)
        presses = body.get("actions")
        pressed = as_object(presses[0]) if isinstance(presses, list) and presses else {}
        action_id = as_text(pressed.get("action_id"))
        version_id = actions.parse_policy_button_value(as_text(pressed.get("value")))
        approve = actions.policy_approves(action_id)
        if version_id is None or approve is None:
            log.warning("a Slack press of %s named no policy version of ours", action_id[:40])
            await self.interactions.tell(where, NOT_OURS)
            return
        if approve:
            await self._decide(PolicyDecide(version_id, True, None), where)
            return
        metadata = cards.reject_metadata(version_id, where.channel)
        modal = cards.reject_modal(ref=f"POL-{version_id:06d}", private_metadata=metadata)
        try:
            await self.interactions.deps.client.views_open(
                trigger_id=as_text(body.get("trigger_id")), view=modal
            )
        except SlackApiError as error:
            log.warning("views.open failed: %s", error.response.get("error"))
            await self.interactions.tell(
                where, "Slack did not open the form in time; please press again."
            )

    async def rejected(self, body: Mapping[str, Any]) -> None:
        """The reject modal was submitted (with a reason: `on_reject` saw to that)."""
        view = as_object(body.get("view"))
        meta = cards.read_reject_metadata(as_text(view.get("private_metadata")))
        user = user_id(body)
        if meta is None or not user:
            log.warning("dropped a policy reject form with unreadable metadata")
            return
        version_id, channel = meta
        reason = cards.reason_value(state_values(body))
        await self._decide(PolicyDecide(version_id, False, reason), Where(user, channel))

    async def _decide(self, command: PolicyDecide, where: Where) -> None:
        interactions = self.interactions
        person = await interactions.deps.directory.person_for(where.user)
        if person is None:
            await interactions.tell(where, UNKNOWN_USER)
            return
        actor = Actor(person.id, PLATFORM, where.user)
        try:
            reply = await run_policy_command(interactions.svc, actor, command)
        except Exception as error:
            await interactions.tell(where, error_text(error))
            return
        interactions.deps.wake_delivery()
        await interactions.tell(where, reply.text)

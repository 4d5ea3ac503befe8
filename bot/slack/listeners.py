"""Bolt listeners: each acknowledges at once, then does its work in a kept background task.

Bolt injects listener arguments by name (ack, body, respond); that stays in this file. The
work functions below it take typed arguments.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

import cards.slack as blocks
from bot.audit_download import AuditDownloads
from bot.slack import policy_cards, remediation_cards
from bot.slack.audit_command import audit_command
from bot.slack.interactions import SlackInteractions
from bot.slack.reading import as_object, as_text

log = logging.getLogger(__name__)
ANYTHING = re.compile(r".*", re.DOTALL)


def register(
    app: AsyncApp, interactions: SlackInteractions, downloads: AuditDownloads | None = None
) -> None:
    spawn = interactions.deps.tasks.spawn
    policy_cards.register(app, interactions)  # first: Bolt runs the first listener that matches
    remediation_cards.register(app, interactions)

    @app.action(ANYTHING)  # the press is read, and an unknown id dropped, in button_pressed
    async def on_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        spawn(interactions.button_pressed(body), "slack-button")

    @app.view(blocks.RATIONALE_CALLBACK)
    async def on_rationale(ack: AsyncAck, body: dict[str, Any]) -> None:
        problem = interactions.rationale_problem(body)
        if problem is not None:
            await ack(response_action="errors", errors={blocks.RATIONALE_BLOCK: problem})
            return
        await ack()
        spawn(interactions.rationale_submitted(body), "slack-rationale")

    @app.view(blocks.FILING_CALLBACK)
    async def on_filing(ack: AsyncAck, body: dict[str, Any]) -> None:
        checked = await interactions.check_filing(body)
        if checked.errors:
            await ack(response_action="errors", errors=checked.errors)
            return
        await ack()
        if checked.request is not None and checked.person is not None:
            spawn(interactions.file(checked.person, checked.request, body), "slack-filing")

    @app.view(ANYTHING)
    async def on_unknown_view(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        callback = as_text(as_object(body.get("view")).get("callback_id"))
        log.warning("dropped a submission of an unknown Slack modal %r", callback[:100])

    @app.command("/exception")
    async def on_exception(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        spawn(interactions.exception_command(body, respond), "slack-exception-command")

    @app.command("/approvals")
    async def on_approvals(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        spawn(interactions.approvals_command(body, respond), "slack-approvals-command")

    @app.command("/policy")
    async def on_policy(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        spawn(interactions.policy_command(body, respond), "slack-policy-command")

    @app.command("/audit")
    async def on_audit(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        work = audit_command(interactions.deps, downloads, body, respond)
        spawn(work, "slack-audit-command")

    @app.command(ANYTHING)
    async def on_unknown_command(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        log.warning("dropped an unknown slash command %r", as_text(body.get("command"))[:100])

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any]) -> None:
        user = as_text(event.get("user"))
        if not user:
            log.warning("dropped an App Home event without a user")
        elif event.get("tab", "home") == "home":
            spawn(interactions.publish_home(user), "slack-home")

    @app.event(ANYTHING)
    async def on_unknown_event(event: dict[str, Any]) -> None:
        log.warning("dropped a Slack event of a type not subscribed to: %r", event.get("type"))

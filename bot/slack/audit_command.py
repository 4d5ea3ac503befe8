"""Slack's `/audit verify|export ...`: answered ephemerally, so an export link is seen only by
the person who asked (and it works only for them: bot.links binds it to their person id)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncRespond

from bot.audit_chat import audit_reply, parse_audit_command
from bot.audit_download import AuditDownloads
from bot.chat_commands import UsageError
from bot.slack.interactions import PLATFORM, UNKNOWN_USER, SlackDeps
from bot.slack.reading import as_text
from handlers.context import Actor


async def audit_command(
    deps: SlackDeps,
    downloads: AuditDownloads | None,
    body: Mapping[str, Any],
    respond: AsyncRespond,
) -> None:
    user = as_text(body.get("user_id"))
    person = await deps.directory.person_for(user) if user else None
    if person is None:
        await respond(text=UNKNOWN_USER, response_type="ephemeral")
        return
    try:
        command = parse_audit_command(as_text(body.get("text")))
    except UsageError as error:
        await respond(text=str(error), response_type="ephemeral")
        return
    actor = Actor(person.id, PLATFORM, user)
    text = await audit_reply(deps.services, actor, command, downloads)
    await respond(text=text, response_type="ephemeral")

"""Typed commands run for an actor, as every platform runs them: mentions (Slack's
`<@U123|name>`) are resolved against the policy as the command is read."""

from __future__ import annotations

import pytest

from bot.chat_commands import ChatCommand, UsageError, parse_approvals_command, policy_resolver
from bot.conversation import run_command
from handlers.commands import FileException
from handlers.context import Actor, Services
from handlers.filing import file_exception
from handlers.queries import case_details
from policy.request import ExceptionRequest


async def _filed(services: Services) -> int:
    request = ExceptionRequest.model_validate(
        {"code": "OFF_CONTRACT", "title": "Laptops", "requester": "rita"}
    )
    return (await file_exception(services, Actor("rita", "slack"), FileException(request))).case.id


def _parse(services: Services, text: str) -> ChatCommand:
    return parse_approvals_command(text, policy_resolver(services.policy))


async def test_a_slack_mention_names_the_person(services: Services) -> None:
    case_id = await _filed(services)
    command = _parse(services, "reassign EXC-000001 <@U0MARIA|maria> I am travelling")

    reply = await run_command(services, Actor("dana", "slack"), command)

    assert reply.ok
    assert reply.text == "EXC-000001 (category-lead) is now with Maria Finance."
    assert (await case_details(services, case_id)).steps[0].approvers == ("lee", "maria")


async def test_an_unknown_mention_is_a_clear_reply_and_changes_nothing(
    services: Services,
) -> None:
    case_id = await _filed(services)
    for text in (
        "reassign EXC-000001 <@U0NOBODY> travelling",
        "away until 2026-12-01 delegate @nobody",
    ):
        with pytest.raises(UsageError, match="I don't know who"):
            _parse(services, text)
    assert (await case_details(services, case_id)).steps[0].approvers == ("lee", "dana")


async def test_away_and_back_through_the_conversation(services: Services) -> None:
    actor = Actor("lee", "slack")
    away = await run_command(services, actor, _parse(services, "away until 2026-03-04"))
    assert not away.ok  # lee has no standing delegate in the policy
    assert "name who takes your approvals" in away.text
    named = _parse(services, "away until 2026-03-04 delegate <@U0MARIA>")
    assert (await run_command(services, actor, named)).ok
    back = await run_command(services, actor, _parse(services, "back"))
    assert back.text.startswith("Welcome back")

"""Slack's `/audit` through the real server and the fake Slack: auditors verify and get an
export link (answered ephemerally), everyone else is refused, bad words get the usage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from handlers.context import Services
from storage import audit
from tests.slack.fake_slack_api import FakeSlackAPI
from tests.slack.harness import SlackHarness, eventually, slack_for

PUBLIC = "https://approvals.example.com"


@pytest.fixture
async def slack(services: Services, fake_slack: FakeSlackAPI) -> AsyncIterator[SlackHarness]:
    extra = {"APPROVALS_PUBLIC_URL": PUBLIC, "APPROVALS_LINK_SECRET": "s" * 32}
    async with slack_for(services, fake_slack, **extra) as harness:
        yield harness


async def _answer(slack: SlackHarness, user: str, text: str, hook: str) -> dict[str, object]:
    answer = await slack.command(user, "/audit", text, hook)
    assert answer.status == 200
    await eventually(lambda: bool(slack.fake.responses(hook)))
    [response] = slack.fake.responses(hook)
    assert response["response_type"] == "ephemeral"  # seen by the person who asked, only
    return response


async def _actions(slack: SlackHarness) -> list[str]:
    async with slack.services.db.reading() as conn:
        return [event.action async for event in audit.stream_events(conn)]


async def test_an_auditor_verifies_and_downloads_the_export(slack: SlackHarness) -> None:
    await slack.file()
    await slack.settle()

    verified = await _answer(slack, "U0AUD", "verify", "verify")
    assert str(verified["text"]).startswith("The audit log is intact: 3 events, head ")

    exported = await _answer(slack, "U0AUD", "export --case EXC-000001", "export")
    text = str(exported["text"])
    assert "Your download of the audit events of EXC-000001, as JSON Lines: " in text
    link = text.split("JSON Lines: ")[1].split()[0]
    assert link.startswith(f"{PUBLIC}/audit/export?token=")
    parts = urlsplit(link)
    async with slack.http.get(f"{parts.path}?{parts.query}") as response:
        assert response.status == 200
        lines = (await response.text()).splitlines()
    assert len(lines) == 3  # the case's own events (the export's record has no case)
    assert (await _actions(slack))[-1] == "audit.exported"


async def test_anyone_else_is_refused_and_bad_words_get_the_usage(slack: SlackHarness) -> None:
    refused = await _answer(slack, "U0RITA", "verify", "rita")
    assert refused["text"] == "Only a policy admin or auditor can do that, and you are not one."
    assert await _actions(slack) == ["audit.refused"]

    usage = await _answer(slack, "U0AUD", "export --since yesterday", "usage")
    assert "'yesterday' is not a date like 2026-01-31" in str(usage["text"])
    assert "/audit verify" in str(usage["text"])
    stranger = await _answer(slack, "U0STRANGER", "verify", "stranger")
    assert "I don't know who you are" in str(stranger["text"])
    assert await _actions(slack) == ["audit.refused"]

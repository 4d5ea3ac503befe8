"""Slack's `/approvals dashboard` through the real server and the fake Slack: a link answered
ephemerally (seen by the person who asked, only) that opens their dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from bot.dashboard_access import COOKIE
from handlers.context import Services
from tests.slack.fake_slack_api import FakeSlackAPI
from tests.slack.harness import SlackHarness, eventually, slack_for

PUBLIC = "https://approvals.example.com"


@pytest.fixture
async def slack(services: Services, fake_slack: FakeSlackAPI) -> AsyncIterator[SlackHarness]:
    extra = {"APPROVALS_PUBLIC_URL": PUBLIC, "APPROVALS_LINK_SECRET": "s" * 32}
    async with slack_for(services, fake_slack, **extra) as harness:
        yield harness


async def test_the_dashboard_link_is_ephemeral_and_opens_the_dashboard(slack: SlackHarness) -> None:
    await slack.file()
    await slack.settle()
    answer = await slack.command("U0AUD", "/approvals", "dashboard", "dashboard")
    assert answer.status == 200
    await eventually(lambda: bool(slack.fake.responses("dashboard")))
    [response] = slack.fake.responses("dashboard")
    assert response["response_type"] == "ephemeral"
    text = str(response["text"])
    assert text.startswith(f"Your dashboard: {PUBLIC}/dashboard/login?token=")
    link = urlsplit(text.split()[2])
    async with slack.http.get(f"{link.path}?{link.query}", allow_redirects=False) as login:
        assert login.status == 303
        cookie = login.cookies[COOKIE].value
    async with slack.http.get("/dashboard", headers={"Cookie": f"{COOKIE}={cookie}"}) as page:
        assert page.status == 200
        assert 'id="EXC-000001"' in await page.text()

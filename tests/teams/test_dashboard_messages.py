"""Teams' `approvals dashboard` through the real server (`approvals serve`'s runtime): a link
in the person's own chat that opens the dashboard there, never a link in a group chat; and
`approvals stats` ends with the link only in the person's own chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.dashboard_access import COOKIE
from handlers.context import Services
from tests.teams.activities import TeamsActivities, TeamsUser
from tests.teams.fake_connector import FakeConnector
from tests.teams.fake_openid import FakeOpenID
from tests.teams.fake_token import FakeTokenEndpoint
from tests.teams.harness import RITA, TeamsHarness, running, served, settings_for

PUBLIC = "https://approvals.example.com"
GROUP = {"conversationType": "groupChat", "id": "19:group@thread.v2"}


@pytest.fixture
async def teams(
    teams_services: Services,
    fake_openid: FakeOpenID,
    fake_token: FakeTokenEndpoint,
    fake_connector: FakeConnector,
    teams_activities: TeamsActivities,
) -> AsyncIterator[TeamsHarness]:
    settings = settings_for(
        fake_openid, fake_token, APPROVALS_PUBLIC_URL=PUBLIC, APPROVALS_LINK_SECRET="t" * 40
    )
    async with running(teams_services, settings) as runtime, served(runtime) as http:
        yield TeamsHarness(
            teams_services, runtime, http, fake_openid, fake_connector, fake_token, teams_activities
        )


async def _say(teams: TeamsHarness, user: TeamsUser, text: str, **where: Any) -> str:
    activity = teams.activities.message(user, text)
    if where:
        activity["conversation"].update(where)
    status, _ = await teams.send(activity)
    assert status == 200
    await teams.settle()
    return teams.connector.activities_in(activity["conversation"]["id"])[-1].text or ""


async def test_the_dashboard_link_comes_in_the_persons_own_chat_only(teams: TeamsHarness) -> None:
    await teams.file()
    await teams.settle()
    reply = await _say(teams, RITA, "approvals dashboard")
    assert reply.startswith(f"Your dashboard: {PUBLIC}/dashboard/login?token=")
    link = urlsplit(reply.split()[2])
    async with teams.http.get(f"{link.path}?{link.query}", allow_redirects=False) as response:
        assert response.status == 303
        cookie = response.cookies[COOKIE].value
    async with teams.http.get("/dashboard", headers={"Cookie": f"{COOKIE}={cookie}"}) as page:
        assert page.status == 200
        assert 'id="EXC-000001"' in await page.text()

    in_a_group = await _say(teams, RITA, "approvals dashboard", **GROUP)
    assert "only send it in our one-to-one chat" in in_a_group
    assert "token=" not in in_a_group
    assert "\nDashboard: " in await _say(teams, RITA, "approvals stats")
    assert "Dashboard:" not in await _say(teams, RITA, "approvals stats", **GROUP)

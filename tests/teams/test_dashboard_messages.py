"""Teams' `approvals dashboard` through the real server (`approvals serve`'s runtime): a link
in the person's own chat that opens the dashboard there, never a link in a group chat; and
`approvals stats` ends with the link only in the person's own chat."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from bot.dashboard_access import COOKIE
from tests.teams.conftest import PUBLIC_URL as PUBLIC
from tests.teams.harness import RITA, TeamsHarness, say

GROUP = {"conversationType": "groupChat", "id": "19:group@thread.v2"}


@pytest.fixture
def teams(linked_teams: TeamsHarness) -> TeamsHarness:
    return linked_teams


async def test_the_dashboard_link_comes_in_the_persons_own_chat_only(teams: TeamsHarness) -> None:
    await teams.file()
    await teams.settle()
    reply = await say(teams, RITA, "approvals dashboard")
    assert reply.startswith(f"Your dashboard: {PUBLIC}/dashboard/login?token=")
    link = urlsplit(reply.split()[2])
    async with teams.http.get(f"{link.path}?{link.query}", allow_redirects=False) as response:
        assert response.status == 303
        cookie = response.cookies[COOKIE].value
    async with teams.http.get("/dashboard", headers={"Cookie": f"{COOKIE}={cookie}"}) as page:
        assert page.status == 200
        assert 'id="EXC-000001"' in await page.text()

    in_a_group = await say(teams, RITA, "approvals dashboard", **GROUP)
    assert "only send it in our one-to-one chat" in in_a_group
    assert "token=" not in in_a_group
    assert "\nDashboard: " in await say(teams, RITA, "approvals stats")
    assert "Dashboard:" not in await say(teams, RITA, "approvals stats", **GROUP)

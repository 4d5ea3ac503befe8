"""The Bot Framework signing keys are fetched once: requests that arrive while the first fetch
is still running wait for it (single-flight) instead of being refused for an unknown key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from handlers.context import Services
from tests.teams.activities import TeamsActivities
from tests.teams.fake_connector import FakeConnector
from tests.teams.fake_openid import FakeOpenID
from tests.teams.fake_token import FakeTokenEndpoint
from tests.teams.harness import DANA, MARIA, RITA, TeamsHarness, running, served, settings_for

JWKS_DELAY_SECONDS = 0.5


class SlowOpenID(FakeOpenID):
    """Answers the JWKS only after a while, so requests pile up behind the first fetch."""

    async def _jwks(self, request: web.Request) -> web.Response:
        await asyncio.sleep(JWKS_DELAY_SECONDS)
        return await super()._jwks(request)


@pytest.fixture
async def slow_openid() -> AsyncIterator[SlowOpenID]:
    async with SlowOpenID() as fake:
        yield fake


async def test_requests_at_a_fresh_start_share_the_one_key_fetch(
    teams_services: Services,
    slow_openid: SlowOpenID,
    fake_token: FakeTokenEndpoint,
    fake_connector: FakeConnector,
    teams_activities: TeamsActivities,
) -> None:
    async with (
        running(teams_services, settings_for(slow_openid, fake_token)) as runtime,
        served(runtime) as http,
    ):
        teams = TeamsHarness(
            teams_services, runtime, http, slow_openid, fake_connector, fake_token, teams_activities
        )
        together = [teams.send(teams_activities.installation(u)) for u in (RITA, DANA, MARIA)]

        answers = await asyncio.gather(*together)

        assert [status for status, _ in answers] == [200, 200, 200]
        assert (slow_openid.metadata_requests, slow_openid.jwks_requests) == (1, 1)
        assert (await teams.send(teams_activities.installation(RITA)))[0] == 200
        assert slow_openid.jwks_requests == 1

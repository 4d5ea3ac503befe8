"""Who a Teams user is: by the policy's `teams:`/`aad:` ids, and by the roster's user
principal name only where the deployment opts in (TEAMS_EMAIL_IDENTITY), never for a guest
or a user of another tenant (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from handlers.context import Services
from tests.teams.activities import TeamsActivities, TeamsUser
from tests.teams.fake_connector import FakeConnector
from tests.teams.fake_openid import FakeOpenID
from tests.teams.fake_token import FakeTokenEndpoint
from tests.teams.harness import RITA, TeamsHarness, running, served, settings_for

LEE = TeamsUser.make("Lee Park", "lee@acme.example")  # no Teams id in the policy, an email


@pytest.fixture(params=["true", "false"])
async def teams_with(
    request: pytest.FixtureRequest,
    teams_services: Services,
    fake_openid: FakeOpenID,
    fake_token: FakeTokenEndpoint,
    fake_connector: FakeConnector,
    teams_activities: TeamsActivities,
) -> AsyncIterator[tuple[TeamsHarness, bool]]:
    settings = settings_for(fake_openid, fake_token, TEAMS_EMAIL_IDENTITY=request.param)
    async with running(teams_services, settings) as runtime, served(runtime) as http:
        harness = TeamsHarness(
            teams_services, runtime, http, fake_openid, fake_connector, fake_token, teams_activities
        )
        status, _ = await harness.send(teams_activities.installation(RITA))
        assert status == 200
        yield harness, request.param == "true"


async def _who_am_i(teams: TeamsHarness, activity: dict[str, Any]) -> str:
    """What the bot answers `help` with: the help, or that it does not know the sender."""
    status, _ = await teams.send(activity)
    assert status in (200, 201)
    await teams.settle()
    replies = teams.connector.activities_in(activity["conversation"]["id"])
    return str(replies[-1].body.get("text", "")) if replies else ""


async def test_the_roster_name_maps_only_where_the_deployment_opts_in(
    teams_with: tuple[TeamsHarness, bool],
) -> None:
    teams, opted_in = teams_with
    teams.connector.add_profile(LEE.id, email="lee@acme.example", name="Lee Park")
    answer = await _who_am_i(teams, teams.activities.message(LEE, "help"))
    if opted_in:
        assert "/exception new" in answer
    else:
        assert "I don't know who you are" in answer


@pytest.mark.parametrize(
    "profile",
    [
        {"role": "guest"},
        {"upn": "lee_acme.example#EXT#@contoso.onmicrosoft.com"},
        {"tenant_id": "another-tenant"},
    ],
)
async def test_guests_and_other_tenants_are_never_mapped_by_name(
    teams_with: tuple[TeamsHarness, bool], profile: dict[str, str]
) -> None:
    teams, _ = teams_with
    teams.connector.add_profile(LEE.id, email="lee@acme.example", name="Lee Park", **profile)
    answer = await _who_am_i(teams, teams.activities.message(LEE, "help"))
    assert "I don't know who you are" in answer


async def test_an_activity_from_another_tenant_is_never_mapped_by_name(
    teams_with: tuple[TeamsHarness, bool],
) -> None:
    teams, _ = teams_with
    teams.connector.add_profile(LEE.id, email="lee@acme.example", name="Lee Park")
    activity = teams.activities.message(LEE, "help")
    activity["channelData"] = {"tenant": {"id": "another-tenant"}}
    activity["conversation"]["tenantId"] = "another-tenant"
    answer = await _who_am_i(teams, activity)
    assert "I don't know who you are" in answer

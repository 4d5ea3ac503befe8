"""The outside world of Microsoft Teams as fakes over real sockets on 127.0.0.1 (random ports):

- `fake_openid`: the Bot Framework OpenID metadata + JWKS, minting real RS256 tokens
  (`.metadata_url` for TEAMS_OPENID_METADATA_URL, `.mint(...)`, `.jwks_requests`).
- `fake_token`: the Entra ID token endpoint for msal, over TLS with a generated CA, trusted for
  the test through REQUESTS_CA_BUNDLE (`.authority` for TEAMS_AUTHORITY, `.token_requests`).
- `fake_connector`: the Bot Connector at serviceUrl `.url`, accepting the tokens `fake_token`
  issued (`.calls`, `.activities_in(conversation)`, `.fail_next(...)`).
- `teams_activities`: inbound activity builders whose serviceUrl is the fake connector.

Settings for the app: TEAMS_APP_ID=APP_ID, TEAMS_APP_PASSWORD=APP_PASSWORD,
TEAMS_TENANT_ID=TENANT_ID, TEAMS_AUTHORITY=fake_token.authority,
TEAMS_OPENID_METADATA_URL=fake_openid.metadata_url.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from handlers.clock import ManualClock
from handlers.context import Services
from storage.database import Database
from tests.teams.activities import TeamsActivities
from tests.teams.fake_connector import FakeConnector
from tests.teams.fake_openid import FakeOpenID
from tests.teams.fake_token import FakeTokenEndpoint

if TYPE_CHECKING:  # the harness imports this module's constants, so it is imported lazily
    from tests.teams.harness import TeamsHarness

APP_ID = "0b6fe6d1-fece-44f7-9a48-56465e2d5ab8"
APP_PASSWORD = "fake-app-password~0123456789"
TENANT_ID = "50612dbb-0237-4969-b378-8d42590f9c00"


@pytest.fixture
async def fake_openid() -> AsyncIterator[FakeOpenID]:
    async with FakeOpenID() as fake:
        yield fake


@pytest.fixture
async def fake_token(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTokenEndpoint]:
    async with FakeTokenEndpoint(
        client_id=APP_ID, client_secret=APP_PASSWORD, tenant_id=TENANT_ID
    ) as fake:
        # msal talks through requests, which reads these on every request.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_file))
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
        yield fake


@pytest.fixture
async def fake_connector(fake_token: FakeTokenEndpoint) -> AsyncIterator[FakeConnector]:
    async with FakeConnector(accepted_tokens=fake_token.issued_tokens) as fake:
        yield fake


@pytest.fixture
def teams_activities(fake_connector: FakeConnector) -> TeamsActivities:
    return TeamsActivities(service_url=fake_connector.url, app_id=APP_ID, tenant_id=TENANT_ID)


@pytest.fixture
def teams_services(db: Database, clock: ManualClock) -> Services:
    """The services the Teams harness runs; a test module may override it (another policy)."""
    from tests.teams.harness import teams_policy

    return Services(db=db, policy=teams_policy(), clock=clock)


@pytest.fixture
async def teams(
    teams_services: Services,
    fake_openid: FakeOpenID,
    fake_token: FakeTokenEndpoint,
    fake_connector: FakeConnector,
    teams_activities: TeamsActivities,
) -> AsyncIterator[TeamsHarness]:
    from tests.teams.harness import RITA, TeamsHarness, running, served, settings_for

    async with (
        running(teams_services, settings_for(fake_openid, fake_token)) as runtime,
        served(runtime) as http,
    ):
        harness = TeamsHarness(
            teams_services, runtime, http, fake_openid, fake_connector, fake_token, teams_activities
        )
        # Rita installs the app: the bot learns the service URL and her chat.
        status, _ = await harness.send(teams_activities.installation(RITA))
        assert status == 200
        yield harness


PUBLIC_URL = "https://approvals.example.com"


@pytest.fixture
async def linked_teams(
    teams_services: Services,
    fake_openid: FakeOpenID,
    fake_token: FakeTokenEndpoint,
    fake_connector: FakeConnector,
    teams_activities: TeamsActivities,
) -> AsyncIterator[TeamsHarness]:
    """The harness with signed links on (a public URL and a link secret), nobody installed:
    for the messages that answer with a link (audit exports, the dashboard)."""
    from tests.teams.harness import TeamsHarness, running, served, settings_for

    settings = settings_for(
        fake_openid, fake_token, APPROVALS_PUBLIC_URL=PUBLIC_URL, APPROVALS_LINK_SECRET="t" * 40
    )
    async with running(teams_services, settings) as runtime, served(runtime) as http:
        yield TeamsHarness(
            teams_services, runtime, http, fake_openid, fake_connector, fake_token, teams_activities
        )

"""The fake Slack Web API as a fixture, with a workspace matching tests/data/policy.yaml: the
people there with a `slack:` id, the others findable by email, and one stranger."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.slack.fake_slack_api import FakeSlackAPI, SlackUser

SLACK_USERS = (
    SlackUser("U0RITA", "rita@acme.example", "Rita Requester", "rita"),
    SlackUser("U0LEE", "lee@acme.example", "Lee Park", "lee"),
    SlackUser("U0DANA", "dana@acme.example", "Dana Reyes", "dana"),
    SlackUser("U0MARIA", "maria@acme.example", "Maria Finance", "maria"),
    SlackUser("U0CARL", "carl@acme.example", "Carl Chief", "carl"),
    SlackUser("U0VIC", "vic@acme.example", "Vic Away", "vic"),
    SlackUser("U0SAM", "sam@acme.example", "Sam Stand-in", "sam"),
    SlackUser("U0ADA", "ada@acme.example", "Ada Admin", "ada"),
    SlackUser("U0AUD", "audrey@acme.example", "Audrey Auditor", "audrey"),
    SlackUser("U0STRANGER", "stranger@elsewhere.example", "Stan Stranger", "stan"),
)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlackAPI]:
    """A running fake Slack Web API; `.url` ends in "/api/" (AsyncWebClient's base_url)."""
    async with FakeSlackAPI(users=SLACK_USERS) as fake:
        yield fake

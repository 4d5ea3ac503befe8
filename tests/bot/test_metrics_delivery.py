"""/metrics on chat delivery: attempts and failures by platform and message kind (Slack mounted
on the fake Slack Web API), and the Slack and Teams API calls by method and status."""

from __future__ import annotations

import aiohttp
import pytest

from bot.http_errors import METRICS_KEY
from bot.messaging import DeliveryError
from bot.metrics import Metrics
from bot.teams.connector import BotConnector, ConnectorTokens
from handlers.context import Services
from tests.slack.conftest import SLACK_USERS
from tests.slack.fake_slack_api import FakeSlackAPI
from tests.slack.harness import slack_for
from tests.teams.fake_connector import FakeConnector

TOKEN = "fake-connector-token"


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_deliveries_and_slack_calls_by_platform_kind_method_and_status(
    services: Services,
) -> None:
    async with FakeSlackAPI(users=SLACK_USERS) as fake, slack_for(services, fake) as slack:
        metrics = slack.runtime.app[METRICS_KEY]
        async with slack.http.get("/readyz") as response:
            assert (await response.json())["chat"] == ["slack"]
        await slack.file(title="Monitors")
        await slack.settle()
        posted = value(metrics, "approvals_deliveries_total", platform="slack", kind="post_card")
        assert posted == 2  # a card to each approver
        assert value(metrics, "approvals_deliveries_total", platform="slack", kind="notify") == 1
        failed = value(
            metrics, "approvals_delivery_failures_total", platform="slack", kind="post_card"
        )
        assert failed == 0
        sent = value(
            metrics,
            "approvals_platform_api_seconds_count",
            platform="slack",
            method="chat.postMessage",
            status="ok",
        )
        assert sent == 3

        fake.revoke_scope("chat:write")  # Slack now refuses every message: given up
        await slack.file(title="Desks")
        await slack.settle()
        async with slack.http.get("/metrics") as response:
            text = await response.text()

    gave_up = 'approvals_delivery_failures_total{kind="post_card",platform="slack"} 2.0'
    assert gave_up in text
    assert 'approvals_deliveries_total{kind="post_card",platform="slack"} 4.0' in text
    refused = (
        'approvals_platform_api_seconds_count{method="chat.postMessage",platform="slack",'
        'status="missing_scope"} 3.0'
    )
    assert refused in text


class _FixedToken(ConnectorTokens):
    async def token(self) -> str:
        return TOKEN


async def test_teams_connector_calls_are_timed_by_operation_and_status() -> None:
    metrics = Metrics.create()
    async with FakeConnector(accepted_tokens={TOKEN}) as fake, aiohttp.ClientSession() as http:
        tokens = _FixedToken("app", "password", "https://login.example/tenant")
        connector = BotConnector(http, tokens, metrics.observe_api)
        await connector.send(fake.url, "a:conversation", {"type": "message", "text": "hi"})
        with pytest.raises(DeliveryError):
            await connector.update(fake.url, "a:conversation", "no-such-activity", {"text": "x"})
    labels = {"platform": "teams", "method": "send", "status": "ok"}
    assert value(metrics, "approvals_platform_api_seconds_count", **labels) == 1
    assert value(metrics, "approvals_platform_api_seconds_sum", **labels) > 0
    missing = {"platform": "teams", "method": "update", "status": "404"}
    assert value(metrics, "approvals_platform_api_seconds_count", **missing) == 1

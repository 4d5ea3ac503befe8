"""Slack in Socket Mode, end to end: the runtime dials the fake Slack (apps.connections.open with
the app token, then a WebSocket), the fake pushes envelopes, and the bot's answers go to the same
fake Web API as over HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.serve import Runtime, build_runtime
from bot.settings import ConfigurationError, Settings, load_settings
from cards import actions
from handlers.commands import FileException
from handlers.context import Actor, Services
from handlers.filing import file_exception
from handlers.queries import case_details
from policy.request import ExceptionRequest
from storage.records import CaseStatus, StepStatus, case_ref
from tests.slack.conftest import SLACK_USERS
from tests.slack.fake_slack_api import BOT_TOKEN, FakeSlackAPI
from tests.slack.fake_socket_mode import (
    APP_TOKEN,
    CONNECTIONS_OPEN,
    FakeSocketModeSlack,
    slash_command_payload,
)
from tests.slack.harness import API_TOKEN, SlackHarness, buttons_of, eventually
from tests.slack.signing import (
    app_home_opened_body,
    block_actions_payload,
    text_state,
    view_submission_payload,
)

ACK_BUDGET_SECONDS = 1.5  # Slack waits 3 seconds for an ack, over the socket as over HTTP
# slack_sdk's Socket Mode client takes its proxy from these (ignoring NO_PROXY): unset them, so
# the WebSocket to 127.0.0.1 goes straight to the fake.
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeSocketModeSlack]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    async with FakeSocketModeSlack(users=SLACK_USERS) as running:
        yield running


def socket_settings(fake: FakeSlackAPI, app_token: str = APP_TOKEN) -> Settings:
    return load_settings(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": app_token,
            "SLACK_API_URL": fake.url,
            "APPROVALS_API_TOKEN": API_TOKEN,
        }
    )


@asynccontextmanager
async def running(services: Services, fake: FakeSocketModeSlack) -> AsyncIterator[SlackHarness]:
    """The runtime started in Socket Mode (connected), with its HTTP app served too."""
    runtime = build_runtime(services, socket_settings(fake))
    server = TestServer(runtime.app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        await asyncio.wait_for(runtime.start(), timeout=10)
        async with ClientSession(base_url=str(server.make_url("/"))) as http:
            yield SlackHarness(services, runtime, server, fake, http)
    finally:
        await runtime.stop()
        await server.close()


@pytest.fixture
async def slack(services: Services, fake: FakeSocketModeSlack) -> AsyncIterator[SlackHarness]:
    async with running(services, fake) as harness:
        yield harness


async def file_case(services: Services, amount: float = 500.0) -> int:
    """File from the intake side (rita requests; under 1000 lee or dana approves, no rationale)."""
    request = ExceptionRequest.model_validate(
        {"code": "OFF_CONTRACT", "title": "Laptops", "requester": "rita", "amount": amount}
    )
    filed = await file_exception(
        services, Actor.system("intake:erp", "api"), FileException(request)
    )
    return filed.case.id


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# --- the fake itself --------------------------------------------------------------------------


async def test_the_fake_opens_connections_for_the_app_token_only(
    fake: FakeSocketModeSlack,
) -> None:
    bot = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)
    app = AsyncWebClient(token=APP_TOKEN, base_url=fake.url)
    opened = await bot.apps_connections_open(app_token=APP_TOKEN)
    assert str(opened["url"]).startswith(fake.url.replace("http://", "ws://").removesuffix("api/"))
    refusals = {}
    for token in (BOT_TOKEN, "xapp-1-not-ours"):
        with pytest.raises(SlackApiError) as refused:
            await bot.apps_connections_open(app_token=token)
        refusals[token] = refused.value.response["error"]
    with pytest.raises(SlackApiError) as wrong_token:
        await app.chat_postMessage(channel="U0LEE", text="hi")
    assert refusals == {BOT_TOKEN: "not_allowed_token_type", "xapp-1-not-ours": "invalid_auth"}
    assert wrong_token.value.response["error"] == "not_allowed_token_type"
    assert [c.token for c in fake.calls(CONNECTIONS_OPEN)] == [
        APP_TOKEN,
        BOT_TOKEN,
        "xapp-1-not-ours",
    ]

    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(str(opened["url"])) as ws:
            hello = await ws.receive_json(timeout=5)
            assert hello["type"] == "hello"
            assert hello["connection_info"]["app_id"]
            await ws.send_json({"envelope_id": "e-1", "payload": {"text": "ok"}})
            await eventually(lambda: len(fake.connections[0].received) == 1)
        with pytest.raises(aiohttp.WSServerHandshakeError) as reused:
            await http.ws_connect(str(opened["url"]))  # a URL serves one connection
        assert reused.value.status == 401
    assert fake.acks()[0].envelope_id == "e-1"
    assert fake.acks()[0].payload == {"text": "ok"}


# --- the runtime in Socket Mode ---------------------------------------------------------------


async def test_the_runtime_dials_out_and_mounts_no_http_route(
    slack: SlackHarness, fake: FakeSocketModeSlack
) -> None:
    # Start-up checks the app token once (so a refused one fails fast), then connects.
    checked, opened = fake.calls(CONNECTIONS_OPEN)
    assert checked.ok
    assert opened.ok
    assert opened.token == APP_TOKEN  # the app token, on the Web API client's base_url
    connection = await fake.connection()
    assert connection.number == 1
    assert connection.ticket in str(opened.response["url"])

    async with slack.http.post("/slack/events", data="payload=%7B%7D") as answer:
        assert answer.status == 404  # nothing to sign or verify: Slack never calls us


async def test_a_slash_command_and_a_button_press_arrive_over_the_socket(
    slack: SlackHarness,
    fake: FakeSocketModeSlack,
    services: Services,
    caplog: pytest.LogCaptureFixture,
) -> None:
    case_id = await file_case(services)
    await slack.settle()  # the cards went out through the outbox
    ref = case_ref(case_id)

    listing = slash_command_payload(
        command="/exception", text="list", user_id="U0RITA", response_url=fake.response_url("list")
    )
    listed = await fake.request("slash_commands", listing)
    assert listed.payload is None  # acknowledged empty; the answer goes to the response_url
    assert listed.seconds < ACK_BUDGET_SECONDS
    await slack.settle()
    [answer] = fake.responses("list")
    assert answer["response_type"] == "ephemeral"
    assert ref in answer["text"]

    step = (await case_details(services, case_id)).steps[0]
    value = actions.button_value(case_id, step.id)
    card = slack.card_of("U0DANA")
    assert buttons_of(card)[actions.APPROVE] == value
    press = block_actions_payload(
        user_id="U0DANA",
        action_id=actions.APPROVE,
        value=value,
        channel_id=card.channel,
        message_ts=card.ts,
        trigger_id="trigger-dana",
        response_url=fake.response_url("press"),
    )
    pressed = await fake.request("interactive", press)
    assert pressed.payload is None
    assert pressed.seconds < ACK_BUDGET_SECONDS
    await slack.settle()

    details = await case_details(services, case_id)
    assert details.case.status is CaseStatus.APPROVED
    assert [s.status for s in details.steps] == [StepStatus.APPROVED]
    assert [(d.person, d.platform) for d in details.decisions] == [("dana", "slack")]
    # Slack heard of it as over HTTP: an ephemeral for Dana, her card edited in place.
    [told] = fake.ephemerals("U0DANA")
    assert told.channel == card.channel
    assert ref in (told.text or "")
    dana_card = slack.card_of("U0DANA")
    assert (dana_card.ts, buttons_of(dana_card)) == (card.ts, {})
    assert dana_card.updates >= 1
    assert buttons_of(slack.card_of("U0LEE")) == {}
    rita_dm = fake.messages_in(FakeSlackAPI.dm_channel("U0RITA"))
    assert any("was approved" in (m.text or "") for m in rita_dm)

    assert [a.envelope_id for a in fake.acks()] == [listed.envelope_id, pressed.envelope_id]
    assert {c.token for c in fake.calls() if c.method != CONNECTIONS_OPEN} == {BOT_TOKEN}
    assert all(c.ok for c in fake.calls())
    assert errors_logged(caplog) == []


async def test_form_errors_come_back_in_the_ack_payload(
    slack: SlackHarness, fake: FakeSocketModeSlack, services: Services
) -> None:
    case_id = await file_case(services)
    await slack.settle()
    card = slack.card_of("U0LEE")
    press = block_actions_payload(
        user_id="U0LEE",
        action_id=actions.REJECT,
        value=buttons_of(card)[actions.REJECT],
        channel_id=card.channel,
        message_ts=card.ts,
        trigger_id="trigger-lee",
    )
    assert (await fake.request("interactive", press)).payload is None
    await eventually(lambda: len(fake.views_opened()) == 1)
    modal = fake.views_opened()[0]

    def submission(rationale: str) -> dict[str, object]:
        return view_submission_payload(
            user_id="U0LEE",
            callback_id=modal["callback_id"],
            private_metadata=modal["private_metadata"],
            values={"rationale": {"rationale_input": text_state(rationale)}},
            view_id=modal["id"],
        )

    refused = await fake.request("interactive", submission("   "))
    assert refused.payload is not None
    assert refused.payload["response_action"] == "errors"
    assert "rationale" in refused.payload["errors"]
    await slack.settle()
    assert (await case_details(services, case_id)).decisions == []

    accepted = await fake.request("interactive", submission("Buy from the framework supplier"))
    assert accepted.payload is None
    await slack.settle()
    details = await case_details(services, case_id)
    assert details.case.status is CaseStatus.REJECTED
    assert [(d.person, d.rationale) for d in details.decisions] == [
        ("lee", "Buy from the framework supplier")
    ]


async def test_events_arrive_over_the_socket(
    slack: SlackHarness, fake: FakeSocketModeSlack, services: Services
) -> None:
    ref = case_ref(await file_case(services))
    await slack.settle()

    opened = await fake.request("events_api", json.loads(app_home_opened_body(user_id="U0LEE")))
    assert opened.payload is None
    await slack.settle()

    home = fake.home_of("U0LEE")
    assert home is not None
    assert ref in json.dumps(home["blocks"])


async def test_reconnects_when_slack_asks_and_keeps_serving(
    slack: SlackHarness, fake: FakeSocketModeSlack
) -> None:
    first = await fake.ask_to_reconnect()
    await eventually(lambda: len(fake.connections) == 2 and not first.open)
    # the start-up check, the first connection, the reconnection
    assert [c.token for c in fake.calls(CONNECTIONS_OPEN)] == [APP_TOKEN] * 3

    ack = await fake.request("events_api", json.loads(app_home_opened_body(user_id="U0LEE")))
    assert ack.connection == 2
    await slack.settle()
    assert fake.home_of("U0LEE") is not None


async def test_stop_closes_the_socket_and_leaves_no_task_behind(
    services: Services, fake: FakeSocketModeSlack
) -> None:
    runtime: Runtime | None = None
    async with running(services, fake) as harness:
        runtime = harness.runtime
        await fake.request("events_api", json.loads(app_home_opened_body(user_id="U0LEE")))
        await harness.settle()
    assert runtime is not None
    assert runtime.slack is not None
    assert runtime.slack.socket_mode is not None
    client = runtime.slack.socket_mode.client
    assert client.closed
    assert client.aiohttp_client_session.closed
    await eventually(lambda: not any(c.open for c in fake.connections))

    async def only_this_task_left() -> bool:
        await asyncio.sleep(0)
        return asyncio.all_tasks() == {asyncio.current_task()}

    await eventually(only_this_task_left, within=2)


async def test_a_refused_app_token_fails_start(
    services: Services, fake: FakeSocketModeSlack
) -> None:
    runtime = build_runtime(services, socket_settings(fake, app_token="xapp-1-revoked"))
    try:
        with pytest.raises(ConfigurationError, match=r"SLACK_APP_TOKEN.*invalid_auth"):
            await asyncio.wait_for(runtime.start(), timeout=2)
    finally:
        await runtime.stop()
        assert [c.error for c in fake.calls(CONNECTIONS_OPEN)] == ["invalid_auth"]
        assert fake.connections == []

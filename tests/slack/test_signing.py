"""The signing helpers reproduce Slack's worked example, and the bodies they build are accepted
and routed by a real Bolt AsyncApp whose Web API client talks to the fake Slack."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack.fake_slack_api import BOT_TOKEN, FakeSlackAPI
from tests.slack.signing import (
    JSON,
    app_home_opened_body,
    block_actions_payload,
    interaction_body,
    signature,
    signed_headers,
    slash_command_body,
    text_state,
    url_verification_body,
    view_submission_payload,
)

FIXTURES = Path(__file__).resolve().parents[1] / "vendor" / "slack"
SECRET = "test-signing-secret"


def test_the_signature_matches_slacks_worked_example() -> None:
    example = json.loads((FIXTURES / "signing-example.slack-docs.json").read_text())
    expected = example["expected_signature"]
    assert signature(example["signing_secret"], example["body"], example["timestamp"]) == expected
    headers = signed_headers(example["signing_secret"], example["body"], int(example["timestamp"]))
    assert headers["X-Slack-Signature"] == expected
    assert headers["X-Slack-Request-Timestamp"] == example["timestamp"]


def bolt_app(fake: FakeSlackAPI, seen: list[tuple[str, Any]]) -> AsyncApp:
    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=fake.url),
        signing_secret=SECRET,
        process_before_response=True,
    )

    @app.command("/exception")
    async def command(ack: Any, command: dict[str, Any]) -> None:
        await ack()
        seen.append(("command", command["text"]))

    @app.action("exc_approve")
    async def action(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        seen.append(("action", body["actions"][0]["value"]))

    @app.view("exc_rationale")
    async def view(ack: Any, view: dict[str, Any]) -> None:
        await ack()
        seen.append(("view", view["state"]["values"]["rationale"]["rationale_input"]["value"]))

    @app.event("app_home_opened")
    async def home(event: dict[str, Any]) -> None:
        seen.append(("home", event["user"]))

    return app


def bolt_request(body: str, headers: Mapping[str, str]) -> AsyncBoltRequest:
    return AsyncBoltRequest(body=body, headers={k: v for k, v in headers.items()})


async def dispatch(app: AsyncApp, body: str, headers: Mapping[str, str]) -> int:
    response = await app.async_dispatch(bolt_request(body, headers))
    return response.status


async def test_bolt_accepts_and_routes_the_built_bodies(fake_slack: FakeSlackAPI) -> None:
    seen: list[tuple[str, Any]] = []
    app = bolt_app(fake_slack, seen)
    press = block_actions_payload(
        user_id="U0LEE",
        action_id="exc_approve",
        value="case:1:step:1",
        channel_id="DU0LEE",
        message_ts="1700000001.000001",
    )
    submission = view_submission_payload(
        user_id="U0LEE",
        callback_id="exc_rationale",
        values={"rationale": {"rationale_input": text_state("fine")}},
    )
    bodies = [
        (
            slash_command_body(command="/exception", text="status EXC-000001", user_id="U0RITA"),
            None,
        ),
        (interaction_body(press), None),
        (interaction_body(submission), None),
        (app_home_opened_body(user_id="U0RITA"), JSON),
    ]
    for body, content_type in bodies:
        now = int(time.time())
        headers = signed_headers(
            SECRET, body, now, **({"content_type": content_type} if content_type else {})
        )
        assert await dispatch(app, body, headers) == 200
    assert seen == [
        ("command", "status EXC-000001"),
        ("action", "case:1:step:1"),
        ("view", "fine"),
        ("home", "U0RITA"),
    ]
    assert fake_slack.calls("auth.test")  # Bolt checked its token against the fake


async def test_forged_and_stale_signatures_are_refused(fake_slack: FakeSlackAPI) -> None:
    seen: list[tuple[str, Any]] = []
    app = bolt_app(fake_slack, seen)
    body = slash_command_body(command="/exception", text="list", user_id="U0RITA")
    now = int(time.time())
    assert await dispatch(app, body, signed_headers("wrong-secret", body, now)) == 401
    assert await dispatch(app, body, signed_headers(SECRET, body, now - 301)) == 401
    assert await dispatch(app, body, signed_headers(SECRET, body, now + 301)) == 401
    tampered = signed_headers(SECRET, body, now)
    assert await dispatch(app, body.replace("list", "help"), tampered) == 401
    assert seen == []


async def test_url_verification_is_answered(fake_slack: FakeSlackAPI) -> None:
    app = bolt_app(fake_slack, [])
    body = url_verification_body("challenge-123")
    response = await app.async_dispatch(
        bolt_request(body, signed_headers(SECRET, body, int(time.time()), content_type=JSON))
    )
    assert response.status == 200
    assert "challenge-123" in response.body

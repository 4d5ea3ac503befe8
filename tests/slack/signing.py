"""Inbound Slack requests for tests: real v0 signatures, and bodies shaped like what Slack sends
(see tests/vendor/slack): slash commands and interactions form-encoded (interactions as
`payload=<url-encoded JSON>`), events as JSON.

Payload builders return dicts, so a test can bend one field before encoding it. Sign with the
current time (`int(time.time())`): Bolt refuses timestamps more than five minutes off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from tests.slack.fake_slack_api import TEAM_ID

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
API_APP_ID = "A0APPROVALS"
# Where response_urls point unless a test passes fake_slack.response_url(...): a closed port on
# this machine, so nothing ever reaches the real Slack.
NOWHERE = "http://127.0.0.1:9/hooks/unused"


def signature(secret: str, body: str, timestamp: int | str) -> str:
    """`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, body: str, timestamp: int, *, content_type: str = FORM
) -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(secret, body, timestamp),
    }


def signed_bytes_headers(
    secret: str, body: bytes, timestamp: int, *, content_type: str = FORM
) -> dict[str, str]:
    """signed_headers for a body given as bytes, which need not be UTF-8 nor a form."""
    base = f"v0:{timestamp}:".encode() + body
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest(),
    }


def slash_command_body(
    *,
    command: str,
    text: str = "",
    user_id: str,
    channel_id: str | None = None,
    trigger_id: str = "111.222.trigger",
    response_url: str = NOWHERE,
    user_name: str = "someone",
) -> str:
    return urlencode(
        {
            "token": "verification-token",
            "team_id": TEAM_ID,
            "team_domain": "fake-workspace",
            "channel_id": channel_id or f"D{user_id}",
            "channel_name": "directmessage",
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": API_APP_ID,
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def interaction_body(payload: Mapping[str, Any]) -> str:
    """How Slack posts an interaction: a form with one field, `payload`, holding the JSON."""
    return urlencode({"payload": json.dumps(payload)})


def _user(user_id: str) -> dict[str, Any]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID}


def block_actions_payload(
    *,
    user_id: str,
    action_id: str,
    value: str,
    channel_id: str | None = None,
    message_ts: str | None = None,
    view_id: str | None = None,
    block_id: str = "actions",
    label: str = "Button",
    trigger_id: str = "111.222.trigger",
    response_url: str = NOWHERE,
    message: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A button press: on a message (give channel_id and message_ts) or in a view such as the
    App Home (give view_id)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": API_APP_ID,
        "token": "verification-token",
        "trigger_id": trigger_id,
        "team": {"id": TEAM_ID, "domain": "fake-workspace"},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": label, "emoji": True},
                "value": value,
                "action_ts": "1700000000.000001",
            }
        ],
    }
    if view_id is not None:
        payload["container"] = {"type": "view", "view_id": view_id}
        payload["view"] = {"id": view_id, "type": "home", "blocks": [], "state": {"values": {}}}
    else:
        if channel_id is None or message_ts is None:
            raise ValueError("a message button press needs channel_id and message_ts")
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": "directmessage"}
        payload["message"] = dict(message or {"type": "message", "ts": message_ts, "text": ""})
        payload["response_url"] = response_url
    payload["state"] = {"values": {}}
    return payload


def text_state(value: str | None) -> dict[str, Any]:
    """The state of a plain_text_input as a view_submission carries it."""
    return {"type": "plain_text_input", "value": value}


def option_state(value: str | None, kind: str = "static_select") -> dict[str, Any]:
    """The state of a static_select or radio_buttons (`kind`) as a view_submission carries it."""
    selected = (
        None if value is None else {"text": {"type": "plain_text", "text": value}, "value": value}
    )
    return {"type": kind, "selected_option": selected}


def view_submission_payload(
    *,
    user_id: str,
    callback_id: str,
    values: Mapping[str, Mapping[str, Any]],
    private_metadata: str = "",
    view_id: str = "V0000001",
    trigger_id: str = "111.222.trigger",
) -> dict[str, Any]:
    """A modal's submission; `values` is `view.state.values` (block_id -> action_id -> state)."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "fake-workspace"},
        "user": _user(user_id),
        "api_app_id": API_APP_ID,
        "token": "verification-token",
        "trigger_id": trigger_id,
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": {k: dict(v) for k, v in values.items()}},
            "hash": "1700000000.fakehash",
            "title": {"type": "plain_text", "text": "Modal"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": API_APP_ID,
            "external_id": "",
            "bot_id": "B0BOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }


def app_home_opened_body(*, user_id: str, tab: str = "home", event_id: str = "Ev0001") -> str:
    """The Events API callback for a user opening the App Home (JSON)."""
    return json.dumps(
        {
            "token": "verification-token",
            "team_id": TEAM_ID,
            "api_app_id": API_APP_ID,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1_700_000_000,
            "event": {
                "type": "app_home_opened",
                "user": user_id,
                "channel": f"D{user_id}",
                "tab": tab,
                "event_ts": "1700000000.000100",
            },
            "authorizations": [
                {"team_id": TEAM_ID, "user_id": "U0BOT", "is_bot": True, "enterprise_id": None}
            ],
        }
    )


def url_verification_body(challenge: str) -> str:
    """Slack's check of the request URL when the app is configured (JSON)."""
    return json.dumps(
        {"token": "verification-token", "challenge": challenge, "type": "url_verification"}
    )

"""The Slack app manifest parses and asks for what the bot uses: the commands, the events, the
interactivity URL, and every scope a Web API method of the bot needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.slack.fake_slack_api import ALL_SCOPES, METHOD_SCOPES

MANIFEST = Path(__file__).parent.parent.parent / "manifests" / "slack.yaml"
URL = "https://YOUR-HOST/slack/events"


def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(data, dict)
    return data


def test_commands_events_and_interactivity_point_at_one_url() -> None:
    data = manifest()
    commands = {c["command"]: c for c in data["features"]["slash_commands"]}
    assert set(commands) == {"/exception", "/approvals", "/policy", "/audit"}
    for command in commands.values():
        assert command["url"] == URL
        assert command["description"]
        assert command["usage_hint"]
    settings = data["settings"]
    assert settings["interactivity"] == {"is_enabled": True, "request_url": URL}
    assert settings["event_subscriptions"]["request_url"] == URL
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert settings["socket_mode_enabled"] is False
    home = data["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is True
    assert len(data["display_information"]["description"]) <= 140
    assert len(data["display_information"]["long_description"]) >= 175


def test_the_scopes_cover_every_method_the_bot_calls() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert set(METHOD_SCOPES.values()) <= scopes
    assert scopes == ALL_SCOPES

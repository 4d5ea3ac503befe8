from __future__ import annotations

import pytest

from bot.settings import BUNDLED_POLICY, ConfigurationError, load_settings


def test_defaults_are_the_embedded_set_up() -> None:
    settings = load_settings({})
    assert settings.APPROVALS_DATABASE_URL == "sqlite+aiosqlite:///approvals.db"
    assert settings.APPROVALS_POLICY_FILE == BUNDLED_POLICY
    assert BUNDLED_POLICY.is_file()
    assert (settings.APPROVALS_HOST, settings.APPROVALS_PORT) == ("127.0.0.1", 3000)
    assert settings.APPROVALS_SWEEP_SECONDS == 30
    assert not settings.slack_enabled
    assert not settings.teams_enabled


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
        ({"TEAMS_APP_ID": "a", "TEAMS_APP_PASSWORD": "p"}, "TEAMS_TENANT_ID"),
        ({"APPROVALS_PORT": "eighty"}, "APPROVALS_PORT"),
        ({"APPROVALS_PORT": "70000"}, "APPROVALS_PORT"),
        ({"APPROVALS_SWEEP_SECONDS": "0"}, "APPROVALS_SWEEP_SECONDS"),
    ],
)
def test_a_wrong_configuration_names_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        load_settings(environ)


def test_a_whole_platform_configuration_enables_it() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    assert settings.slack_enabled


def test_socket_mode_needs_the_app_token_not_the_signing_secret() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert settings.slack_enabled
    with pytest.raises(ConfigurationError, match="SLACK_BOT_TOKEN"):
        load_settings({"SLACK_APP_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "s"})

"""Teams' `audit ...` messages through the real server: an auditor verifies and gets an export
link in their own chat (never in a group chat), others are refused, bad words get the usage."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from handlers.clock import ManualClock
from handlers.context import Services
from policy.loader import parse_policy
from storage import audit
from storage.database import Database
from tests.teams.harness import MARIA, POLICY, RITA, TeamsHarness, say


@pytest.fixture
def teams_services(db: Database, clock: ManualClock) -> Services:
    """The Teams test policy with Maria as its auditor."""
    text = POLICY.replace(
        'teams: "' + MARIA.id + '"}', 'teams: "' + MARIA.id + '", roles: [auditor]}'
    )
    policy = parse_policy(text, "teams-audit-policy.yaml")
    assert policy.people["maria"].roles
    return Services(db=db, policy=policy, clock=clock)


@pytest.fixture
def teams(linked_teams: TeamsHarness) -> TeamsHarness:
    return linked_teams


async def _actions(teams: TeamsHarness) -> list[str]:
    async with teams.services.db.reading() as conn:
        return [event.action async for event in audit.stream_events(conn)]


async def test_an_auditor_verifies_and_gets_the_export_in_their_own_chat(
    teams: TeamsHarness,
) -> None:
    await teams.file()
    await teams.settle()

    assert (await say(teams, MARIA, "audit verify")).startswith(
        "The audit log is intact: 3 events, head "
    )
    reply = await say(teams, MARIA, "audit export --since 30d")
    assert "Your download of the audit log since 2026-01-31 09:00 UTC, as JSON Lines: " in reply
    link = urlsplit(reply.split("JSON Lines: ")[1].split()[0])
    async with teams.http.get(f"{link.path}?{link.query}") as response:
        assert response.status == 200
        assert len((await response.text()).splitlines()) == 4
    assert (await _actions(teams))[-1] == "audit.exported"

    in_a_group = await say(
        teams, MARIA, "audit export", conversationType="groupChat", id="19:group@thread.v2"
    )
    assert "only send it in our one-to-one chat" in in_a_group
    assert "token=" not in in_a_group


async def test_others_are_refused_and_bad_words_get_the_usage(teams: TeamsHarness) -> None:
    refused = await say(teams, RITA, "audit export")
    assert refused == "Only a policy admin or auditor can do that, and you are not one."
    refused = await say(
        teams, RITA, "audit export", conversationType="groupChat", id="19:group@thread.v2"
    )
    assert refused == "Only a policy admin or auditor can do that, and you are not one."
    assert await _actions(teams) == ["audit.refused", "audit.refused"]

    usage = await say(teams, MARIA, "audit verify everything")
    assert "/audit export [--since 2026-01-31|30d] [--case EXC-000123]" in usage
    assert await _actions(teams) == ["audit.refused", "audit.refused"]

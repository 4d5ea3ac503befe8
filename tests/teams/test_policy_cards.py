"""A policy proposal's card in Teams, end to end: Bot Framework tokens, invokes into the real
server, the fake connector behind it. The card is posted to the other admin's chat; an
Action.Execute carries the version and the note or reason; the invoke is answered with the card
as it stands (the handler's refusal on it); every card follows the decision; a forged press is
answered and stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from cards import actions
from cards.teams_proposal import TEXT_INPUT
from handlers.clock import ManualClock
from handlers.context import Services
from handlers.policy_versions import bootstrap
from policy.loader import parse_policy
from storage import policy_versions as versions
from storage.database import Database
from storage.tables import audit_events, outbox, policy_versions
from tests.cards.teams_checks import assert_valid, inputs, paragraphs
from tests.handlers.test_policy_admin import say
from tests.teams.activities import TeamsUser
from tests.teams.harness import MARIA, POLICY, RITA, TeamsHarness

# The Teams test policy with two admins, as four eyes needs: rita and maria.
ADMINS = POLICY.replace(f'teams: "{RITA.id}"}}', f'teams: "{RITA.id}", roles: [admin]}}').replace(
    f'teams: "{MARIA.id}"}}', f'teams: "{MARIA.id}", roles: [admin]}}'
)


@pytest.fixture
async def teams_services(db: Database, clock: ManualClock) -> Services:
    policy = await bootstrap(db, parse_policy(ADMINS, "teams.yaml"), ADMINS, clock)
    assert {p.id for p in policy.people.values() if p.roles} == {"rita", "maria"}
    return Services(db, policy, clock)


@pytest.fixture
async def proposed(teams: TeamsHarness) -> TeamsHarness:
    await say(teams.services, "rita", "set tier category-lead sla 8h")
    await say(teams.services, "rita", "propose approvers need a working day")
    await teams.settle()
    return teams


async def _press(
    teams: TeamsHarness, user: TeamsUser, verb: str, data: dict[str, Any]
) -> dict[str, Any]:
    status, body = await teams.send(teams.activities.invoke(user, verb=verb, data=data))
    assert status == 200
    assert body is not None
    assert body["statusCode"] == 200
    card: dict[str, Any] = body["value"]
    assert_valid(card)
    return card


def _data(verb: str, text: str = "", version: Any = 2) -> dict[str, Any]:
    return {"policy": version, "action": verb, TEXT_INPUT: text}


def _cards_in(teams: TeamsHarness, chats: list[str]) -> list[dict[str, Any]]:
    """The cards in `chats` as they stand (a press moves the person's known chat to the one it
    came from, so the chat the card was posted in is named)."""
    return [c for chat in chats for a in teams.connector.activities_in(chat) for c in a.cards]


async def _state(teams: TeamsHarness) -> str:
    async with teams.services.db.reading() as conn:
        stored = await versions.get(conn, 2)
    assert stored is not None
    return stored.state.value


async def _last_audit(teams: TeamsHarness) -> str | None:
    async with teams.services.db.reading() as conn:
        return await conn.scalar(select(audit_events.c.action).order_by(audit_events.c.seq.desc()))


async def test_the_other_admin_approves_from_the_card_and_it_follows(
    proposed: TeamsHarness,
) -> None:
    teams = proposed
    assert await teams.cards_for("rita") == []  # the proposer gets no card
    chats = await teams.chats_of("maria")  # the bot opened maria's chat itself
    [card] = _cards_in(teams, chats)
    assert_valid(card)
    assert [a["verb"] for a in card["actions"]] == list(actions.POLICY_DECISIONS)
    assert "+  sla: 8h" in "\n".join(paragraphs(card))

    answered = await _press(teams, MARIA, actions.POLICY_APPROVE, _data("", "fine by me"))
    assert "actions" not in answered
    assert "Approved POL-000002: it is the active policy now." in paragraphs(answered)
    assert await _state(teams) == "active"
    assert teams.services.policy.tier("category-lead").sla.total_seconds() == 8 * 3600
    await teams.settle()

    [card] = _cards_in(teams, chats)  # updated in place
    assert "actions" not in card
    assert inputs(card) == {}
    assert "fine by me" in json.dumps(card)
    assert any(p.startswith("☑️ Decision: Approved by Maria Finance") for p in paragraphs(card))

    again = await _press(teams, MARIA, actions.POLICY_APPROVE, _data(actions.POLICY_APPROVE))
    assert "POL-000002 is active, not a proposal." in paragraphs(again)


async def test_the_proposers_own_press_is_refused_on_the_card_and_audited(
    proposed: TeamsHarness,
) -> None:
    answered = await _press(proposed, RITA, actions.POLICY_APPROVE, _data("", "mine"))
    assert any("four eyes" in p for p in paragraphs(answered))
    assert inputs(answered)[TEXT_INPUT]["value"] == "mine"  # kept for another try
    assert await _state(proposed) == "proposed"
    assert await _last_audit(proposed) == "policy.refused"


async def test_a_rejection_needs_a_reason(proposed: TeamsHarness) -> None:
    chats = await proposed.chats_of("maria")
    refused = await _press(proposed, MARIA, actions.POLICY_REJECT, _data("", "  "))
    assert any("say why the proposal is rejected" in p for p in paragraphs(refused))
    assert len(refused["actions"]) == 2
    assert await _state(proposed) == "proposed"

    done = await _press(proposed, MARIA, actions.POLICY_REJECT, _data("", "not now"))
    assert "actions" not in done
    assert await _state(proposed) == "rejected"
    await proposed.settle()
    [card] = _cards_in(proposed, chats)
    assert "actions" not in card
    assert "Rejected by Maria Finance" in json.dumps(card, ensure_ascii=False)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"policy": "abc"}, "does not name a policy proposal"),
        ({"policy": 2.5}, "does not name a policy proposal"),
        ({"policy": [2]}, "does not name a policy proposal"),
        ({"policy": 2, TEXT_INPUT: {"x": 1}}, "does not name a policy proposal"),
        ({"policy": 99}, "There is no policy version POL-000099."),
        ({"policy": 1}, "POL-000001 is active, not a proposal."),  # never proposed: no card
    ],
)
async def test_a_forged_press_is_answered_and_stores_nothing(
    proposed: TeamsHarness, data: dict[str, Any], says: str
) -> None:
    async def stored() -> list[int]:
        async with proposed.services.db.reading() as conn:
            return [
                int(await conn.scalar(select(func.count()).select_from(t)) or 0)
                for t in (audit_events, outbox, policy_versions)
            ]

    before = await stored()
    answered = await _press(proposed, MARIA, actions.POLICY_APPROVE, data)
    assert any(says in p for p in paragraphs(answered))
    assert await stored() == before

"""A remediation item's card and the daily digest in Teams, end to end: the item's card is
posted to the owner's chat over the fake Bot Connector; Acknowledge and Close (its root cause
in the card's input, required) answer with the card as it stands and update it in place; a
digest lists what waits with an Open button that posts the case's card."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cards import actions
from cards.teams_remediation import TEXT_INPUT
from handlers.clock import ManualClock
from handlers.context import Services
from handlers.digest import send_digests
from policy.loader import parse_policy
from storage import remediation as items
from storage.database import Database
from tests.cards.teams_checks import assert_valid, paragraphs
from tests.handlers.conftest import outbox_rows
from tests.teams.harness import DANA, MARIA, POLICY, TeamsHarness

REMEDIATED = (
    POLICY.replace(
        "taxonomy:\n",
        "taxonomy:\n  - {code: PRICE_MISMATCH, title: Price differs, owner: maria,\n"
        "     remediation: {after: 2, within: 30d, sla: 1d}}\n",
    )
    + 'digest: {at: "09:00"}\n'
)


@pytest.fixture
def teams_services(db: Database, clock: ManualClock) -> Services:
    return Services(db=db, policy=parse_policy(REMEDIATED, "teams.yaml"), clock=clock)


async def _press(teams: TeamsHarness, verb: str, data: dict[str, Any]) -> dict[str, Any]:
    status, body = await teams.send(teams.activities.invoke(MARIA, verb=verb, data=data))
    assert status == 200
    assert body is not None
    assert body["statusCode"] == 200
    return body


async def _status(teams: TeamsHarness) -> str:
    async with teams.services.db.reading() as conn:
        item = await items.get_item(conn, 1)
    assert item is not None
    return item.status.value


async def test_the_owner_acknowledges_and_closes_from_the_card(teams: TeamsHarness) -> None:
    for n in (1, 2):
        await teams.file(code="PRICE_MISMATCH", title=f"Invoice {n}")
    await teams.settle()
    chats = await teams.chats_of("maria")  # a press moves her known chat to its own
    [card] = await teams.cards_for("maria")
    assert_valid(card)
    assert [a["verb"] for a in card["actions"]] == list(actions.REMEDIATION_ACTIONS)
    assert "EXC-000001, EXC-000002" in json.dumps(card)

    data = {"remediation": 1, TEXT_INPUT: ""}
    answered = (await _press(teams, actions.REMEDIATION_ACK, data))["value"]
    assert_valid(answered)
    assert any("Acknowledged REM-000001" in p for p in paragraphs(answered))
    assert await _status(teams) == "acknowledged"

    refused = (await _press(teams, actions.REMEDIATION_CLOSE, data))["value"]
    assert any("root cause" in p for p in paragraphs(refused))
    assert await _status(teams) == "acknowledged"

    closing = {"remediation": 1, TEXT_INPUT: "price file was stale; synced nightly now"}
    closed = (await _press(teams, actions.REMEDIATION_CLOSE, closing))["value"]
    assert "actions" not in closed
    assert await _status(teams) == "closed"
    await teams.settle()
    [card] = [c for chat in chats for a in teams.connector.activities_in(chat) for c in a.cards]
    assert "actions" not in card
    assert "synced nightly" in json.dumps(card)


async def test_a_forged_press_is_answered_and_stores_nothing(teams: TeamsHarness) -> None:
    await _press(teams, actions.REMEDIATION_ACK, {"remediation": 7})  # her chat is known now
    before = await teams.stored()
    body = await _press(teams, actions.REMEDIATION_ACK, {"remediation": "x"})
    assert "does not name a remediation item" in json.dumps(body["value"])
    body = await _press(teams, actions.DIGEST_OPEN, {"open": "case:abc"})
    assert "does not name" in body["value"]
    assert await teams.stored() == before


async def test_the_digest_opens_the_case_card(teams: TeamsHarness) -> None:
    ref = await teams.file()
    await teams.settle()
    assert await send_digests(teams.services, at_once=True) == 2  # lee (Slack) and dana
    await teams.settle()
    [digest] = [c for c in await teams.cards_for("dana") if "Good morning" in json.dumps(c)]
    assert_valid(digest)
    assert ref in json.dumps(digest)
    assert "Good morning Dana Reyes" in json.dumps(digest)
    [button] = _actions(digest)
    assert button["verb"] == actions.DIGEST_OPEN
    status, body = await teams.send(
        teams.activities.invoke(DANA, verb=actions.DIGEST_OPEN, data=button["data"])
    )
    assert status == 200
    assert body is not None
    assert body["type"] == "application/vnd.microsoft.activity.message"
    await teams.settle()
    # Her card of the case is shown again (updated where it is), the digest left as it was.
    assert (await outbox_rows(teams.services.db))[-1] == ("post_card", "dana", None)
    assert len(await teams.cards_for("dana")) == 2


def _actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found

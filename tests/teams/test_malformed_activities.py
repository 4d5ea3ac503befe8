"""Malformed activities behind a valid token: a part of the wrong type, a case id that is no
case id, no serviceUrl. Each is a 400, logged at WARNING without a traceback, and stores
nothing: no case, no decision, no audit event, no conversation reference (SQLite and
PostgreSQL). Lee approves: Teams reports his email, and the bot has no chat with him yet."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

import cards.teams as teams_cards
from cards import actions
from tests.teams.activities import TeamsUser
from tests.teams.conftest import APP_ID
from tests.teams.harness import TeamsHarness, buttons_of

LEE = TeamsUser.make("Lee Park", "lee@acme.example")
WRONG_TYPES: list[Any] = ["x", ["x"], 7]


def _part(key: str, values: list[Any]) -> list[Callable[[dict[str, Any]], None]]:
    def setter(value: Any) -> Callable[[dict[str, Any]], None]:
        return lambda activity: activity.__setitem__(key, value)

    return [setter(value) for value in values]


def _data(key: str, values: list[Any]) -> list[Callable[[dict[str, Any]], None]]:
    def setter(value: Any) -> Callable[[dict[str, Any]], None]:
        return lambda activity: activity["value"]["action"]["data"].__setitem__(key, value)

    return [setter(value) for value in values]


def _no_service_url(activity: dict[str, Any]) -> None:
    del activity["serviceUrl"]


# name -> (the activity: an invoke pressing Approve, or a message; the ways to break it)
BREAKAGES: dict[str, tuple[str, list[Callable[[dict[str, Any]], None]]]] = {
    "value": ("invoke", _part("value", [*WRONG_TYPES, [], {"action": "x"}])),
    "from": ("invoke", _part("from", WRONG_TYPES)),
    "conversation": ("invoke", _part("conversation", WRONG_TYPES)),
    "channelData": ("invoke", _part("channelData", WRONG_TYPES)),
    "entities": ("invoke", _part("entities", ["x", 7, {"type": "mention"}, ["x"]])),
    "recipient": ("invoke", _part("recipient", WRONG_TYPES)),
    "entities of a message": (
        "message",
        _part("entities", ["x", 7, [{"type": "mention", "mentioned": "x"}]]),
    ),
    "recipient of a message": ("message", _part("recipient", WRONG_TYPES)),
    "case": ("invoke", _data("case", [10**30, 1.5, True, "9" * 5000, {"id": 1}])),
    "step": ("invoke", _data("step", [10**30, 1.5, [1]])),
    "rationale": ("invoke", _data(teams_cards.RATIONALE_INPUT, [{"text": "ok"}, ["ok"]])),
    "serviceUrl": ("invoke", [_no_service_url, *_part("serviceUrl", [7, ["x"], "", None])]),
}


@pytest.mark.parametrize("name", BREAKAGES)
async def test_a_malformed_activity_is_a_400_that_stores_nothing(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    teams.connector.add_profile(LEE.id, email="lee@acme.example", name="Lee Park")
    await teams.file()
    await teams.settle()
    assert await teams.chats_of("lee") == []
    press = buttons_of((await teams.cards_for("dana"))[0])[actions.APPROVE]
    before = await teams.stored()
    caplog.set_level(logging.INFO)
    kind, breakages = BREAKAGES[name]

    for index, breakage in enumerate(breakages):
        if kind == "invoke":
            activity = teams.activities.invoke(LEE, verb=actions.APPROVE, data=dict(press))
        else:
            activity = teams.activities.message(LEE, "list")
        breakage(activity)
        token = teams.openid.mint(app_id=APP_ID, service_url=teams.activities.service_url)

        status, _ = await teams.send(activity, token=token)
        await teams.settle()

        assert status == 400, f"breakage {index} of {name}"
        assert await teams.stored() == before, f"breakage {index} of {name}"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "teams" in r.name]
    assert len(warnings) >= len(breakages)
    assert not [r.getMessage() for r in caplog.records if r.exc_info]

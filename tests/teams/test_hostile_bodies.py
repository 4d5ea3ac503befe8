"""Hostile bodies at POST /api/messages: the Bot Framework token is checked before the body is
read, so without a valid token every one is a 401; with one, a 400 (or 413 for too large).
Nothing is stored and nothing is logged with a traceback (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import logging

import pytest

from tests.teams.conftest import APP_ID
from tests.teams.harness import STRANGER, TeamsHarness

MESSAGE_MARK = '"text": "help"'


def _activity(teams: TeamsHarness, text: str) -> bytes:
    """A stranger's message whose `"text": "help"` is replaced by raw JSON `text`."""
    body = json.dumps(teams.activities.message(STRANGER, "help"))
    assert MESSAGE_MARK in body
    return body.replace(MESSAGE_MARK, text).encode("utf-8", "surrogatepass")


BODIES: dict[str, tuple[int, str]] = {  # name -> (status with a valid token, raw text)
    "deeply nested arrays": (400, "[" * 5000),
    "deeply nested value": (400, '"value": ' + "[" * 5000 + "]" * 5000),
    "nested beyond the limit": (400, '"value": ' + '{"a":' * 40 + "1" + "}" * 40),
    "a number of 5000 digits": (400, '"text": ' + "9" * 5000),
    "a huge integer": (400, '"text": "help", "n": ' + str(10**30)),
    "a float beyond double": (400, '"text": "help", "n": 1e999'),
    "NaN": (400, '"text": NaN'),
    "Infinity": (400, '"text": "help", "n": -Infinity'),
    "not UTF-8": (400, '"text": "\xff"'),
    "a lone surrogate": (400, '"text": "\\ud800"'),
    "a NUL in an id": (400, '"text": "help", "id": "1\\u0000"'),
    "too large": (413, '"text": "' + "x" * (300 * 1024) + '"'),
}


@pytest.mark.parametrize("name", BODIES)
async def test_hostile_bodies_need_a_token_then_are_a_400(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    caplog.set_level(logging.INFO)
    valid_status, text = BODIES[name]
    if name == "deeply nested arrays":
        body = text.encode()
    elif name == "not UTF-8":
        body = _activity(teams, "@@").replace(b"@@", text.encode("latin-1"))
    else:
        body = _activity(teams, text)
    url = teams.activities.service_url
    before = await teams.stored()

    assert await teams.post(body) == 401
    forged = teams.openid.mint(app_id=APP_ID, service_url=url, sign_with_unknown_key=True)
    assert await teams.post(body, token=forged) == 401
    expired = teams.openid.mint(app_id=APP_ID, service_url=url, expires_in=-3600)
    assert await teams.post(body, token=expired) == 401
    valid = teams.openid.mint(app_id=APP_ID, service_url=url)
    assert await teams.post(body, token=valid) == valid_status
    await teams.settle()

    assert await teams.stored() == before
    assert [r for r in caplog.records if r.levelno == logging.WARNING and "teams" in r.name]
    assert not [r.getMessage() for r in caplog.records if r.exc_info]

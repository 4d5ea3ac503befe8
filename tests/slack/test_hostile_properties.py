"""Generated hostile input on /slack/events, properly signed: interaction payloads with parts
replaced by anything, slash commands with any text, any bytes. Whatever arrives: no 5xx, no
traceback in the log, nothing stored for a refused request, the audit chain intact after
(SQLite; bounded to a few seconds)."""

from __future__ import annotations

import copy
import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cards import actions
from storage import audit
from tests.handlers.conftest import counts
from tests.hostile import BOUNDED, SQLITE_ONLY, anything, text
from tests.slack.harness import SECRET, SlackHarness
from tests.slack.signing import (
    FORM,
    block_actions_payload,
    signed_bytes_headers,
    slash_command_body,
)
from tests.slack.test_flows import slack

__all__ = ["slack"]  # the fixture, shared with the flow tests

PARTS = [
    "type",
    "user",
    "user.id",
    "actions",
    "actions.0",
    "actions.0.value",
    "actions.0.action_id",
    "channel",
    "container",
    "view",
    "trigger_id",
    "team",
]


@st.composite
def presses(draw: st.DrawFn) -> bytes:
    payload: Any = copy.deepcopy(
        block_actions_payload(
            user_id="U0DANA",
            action_id=draw(st.sampled_from([*actions.ALL, "exc_other"])),
            value=draw(st.sampled_from(["case:1:step:1", "case:9:step:9"])),
            channel_id="DU0DANA",
            message_ts="1700000001.000001",
        )
    )
    for path in draw(st.lists(st.sampled_from(PARTS), min_size=0, max_size=3)):
        target = payload
        *parents, leaf = path.split(".")
        for parent in parents:
            key: Any = int(parent) if parent.isdigit() else parent
            try:
                target = target[key]
            except (KeyError, IndexError, TypeError):
                break
        else:
            if isinstance(target, dict):
                target[leaf] = draw(anything)
            elif isinstance(target, list) and leaf.isdigit() and target:
                target[0] = draw(anything)
    return urlencode({"payload": json.dumps(payload, allow_nan=True)}).encode()


# A slash command's (command, text); the body is built in the test, where the fake Slack's
# response_url is known.
commands = st.tuples(st.sampled_from(["/exception", "/approvals", "/policy", "/audit"]), text)
bodies = presses() | commands | st.binary(max_size=200)


def _body(slack: SlackHarness, drawn: bytes | tuple[str, str]) -> bytes:
    if isinstance(drawn, bytes):
        return drawn
    command, words = drawn
    url = slack.fake.response_url("hostile")
    return slash_command_body(
        command=command, text=words, user_id="U0RITA", response_url=url
    ).encode()


@SQLITE_ONLY
@BOUNDED
@given(drawn=bodies)
async def test_no_signed_request_gets_a_5xx_or_leaves_a_traceback(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture, drawn: bytes | tuple[str, str]
) -> None:
    body = _body(slack, drawn)
    caplog.set_level(logging.INFO)
    if (await counts(slack.services.db))["cases"] == 0:
        await slack.file()  # case 1, step 1 open for lee and dana: presses can land
        await slack.settle()
    before = await counts(slack.services.db)
    headers = signed_bytes_headers(SECRET, body, int(time.time()), content_type=FORM)

    answer = await slack.post_bytes(body, headers)
    await slack.settle()

    assert answer.status < 500, body[:300]
    if answer.status >= 400:
        assert await counts(slack.services.db) == before
    assert not [r.getMessage() for r in caplog.records if r.exc_info]
    async with slack.services.db.reading() as conn:
        assert (await audit.verify(conn)).ok

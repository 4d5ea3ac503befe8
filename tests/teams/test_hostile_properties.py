"""Generated hostile activities against /api/messages, each with a valid token: whatever the
body, no 5xx, no traceback in the log, nothing stored for a refused activity, the audit chain
intact after (SQLite; bounded to a few seconds)."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage import audit
from tests.hostile import BOUNDED, SQLITE_ONLY, anything
from tests.teams.conftest import APP_ID
from tests.teams.harness import DANA, TeamsHarness

PARTS = [
    "type",
    "name",
    "value",
    "from",
    "conversation",
    "channelData",
    "entities",
    "recipient",
    "text",
    "value.action",
    "value.action.data",
    "value.action.data.case",
    "value.action.verb",
    "channelId",
    "serviceUrl",
    "id",
]


@st.composite
def tampered(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    activity = copy.deepcopy(base)
    for path in draw(st.lists(st.sampled_from(PARTS), min_size=1, max_size=3)):
        target: Any = activity
        *parents, leaf = path.split(".")
        for parent in parents:
            if not isinstance(target, dict):
                break
            if not isinstance(target.get(parent), dict):
                target[parent] = {}
            target = target[parent]
        if isinstance(target, dict):
            target[leaf] = draw(anything)
    return activity


@SQLITE_ONLY
@BOUNDED
@given(data=st.data())
async def test_no_activity_gets_a_5xx_or_leaves_a_traceback(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.set_level(logging.INFO)
    kind = data.draw(st.sampled_from(["message", "invoke"]))
    base = (
        teams.activities.message(DANA, "approvals")
        if kind == "message"
        else teams.activities.invoke(DANA, verb="exc_approve", data={"case": 1, "step": 1})
    )
    activity = data.draw(tampered(base))
    service_url = base["serviceUrl"]
    token = teams.openid.mint(app_id=APP_ID, service_url=service_url)
    before = await teams.stored()

    status = await teams.post(json.dumps(activity, allow_nan=True).encode(), token=token)
    await teams.settle()

    assert status < 500, activity
    if status >= 400:
        assert await teams.stored() == before
    assert not [r.getMessage() for r in caplog.records if r.exc_info]
    async with teams.services.db.reading() as conn:
        assert (await audit.verify(conn)).ok

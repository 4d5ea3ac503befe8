"""A remediation item's card and the daily digest in Slack, end to end: signed presses into
the real server, the fake Slack Web API behind it. The owner gets the item's card in a DM;
Acknowledge answers at once and the card follows; Close asks the root cause and fix in a
modal (required); a digest lists what waits, oldest first, each line with a button that shows
its card."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cards import actions
from cards.slack_remediation import CLOSE_CALLBACK, ROOT_CAUSE_BLOCK, ROOT_CAUSE_INPUT
from handlers.clock import ManualClock
from handlers.context import Services
from handlers.digest import send_digests
from policy.loader import load_policy
from storage import remediation as items
from storage.database import Database
from tests.slack.fake_slack_api import FakeSlackAPI, Message
from tests.slack.harness import Answer, SlackHarness, eventually, slack_for
from tests.slack.signing import (
    block_actions_payload,
    interaction_body,
    text_state,
    view_submission_payload,
)

POLICY = Path(__file__).parent.parent / "data" / "remediation.yaml"


@pytest.fixture
async def slack(
    db: Database, clock: ManualClock, fake_slack: FakeSlackAPI
) -> AsyncIterator[SlackHarness]:
    async with slack_for(Services(db, load_policy(POLICY), clock), fake_slack) as harness:
        yield harness


def _buttons(message: Message) -> dict[str, str]:
    found = {}
    for block in message.blocks:
        elements = block.get("elements", []) if block["type"] == "actions" else []
        for element in [*elements, block.get("accessory") or {}]:
            if element.get("type") == "button":
                found[element["action_id"]] = element["value"]
    return found


def _item_card(slack: SlackHarness, user: str) -> Message:
    dm = slack.fake.messages_in(FakeSlackAPI.dm_channel(user))
    return [m for m in dm if "Remediation" in json.dumps(m.blocks)][-1]


async def _press(slack: SlackHarness, user: str, message: Message, action_id: str) -> None:
    payload = block_actions_payload(
        user_id=user,
        action_id=action_id,
        value=_buttons(message)[action_id],
        channel_id=message.channel,
        message_ts=message.ts,
        trigger_id=f"trigger-{user}-{time.monotonic_ns()}",
    )
    assert (await slack.post(interaction_body(payload))).status == 200
    await slack.settle()


async def _submit(slack: SlackHarness, modal: dict[str, Any], text: str) -> Answer:
    payload = view_submission_payload(
        user_id="U0LEE",
        callback_id=modal["callback_id"],
        private_metadata=modal["private_metadata"],
        values={ROOT_CAUSE_BLOCK: {ROOT_CAUSE_INPUT: text_state(text)}},
        view_id=modal["id"],
    )
    answer = await slack.post(interaction_body(payload))
    await slack.settle()
    return answer


def _told(slack: SlackHarness, user: str) -> list[str]:
    return [e.text or "" for e in slack.fake.ephemerals(user)]


async def _status(slack: SlackHarness) -> str:
    async with slack.services.db.reading() as conn:
        item = await items.get_item(conn, 1)
    assert item is not None
    return item.status.value


async def test_the_owner_acknowledges_and_closes_from_the_card(slack: SlackHarness) -> None:
    for n in (1, 2, 3):
        await slack.file(code="PRICE_MISMATCH", title=f"Invoice {n}", supplier={"name": "Acme"})
    await slack.settle()
    card = _item_card(slack, "U0LEE")
    assert _buttons(card) == {a: "rem:1" for a in actions.REMEDIATION_ACTIONS}
    shown = json.dumps(card.blocks)
    assert "EXC-000001, EXC-000002, EXC-000003" in shown
    assert "price-mismatch" in shown  # the playbook link

    await _press(slack, "U0LEE", card, actions.REMEDIATION_ACK)
    assert await _status(slack) == "acknowledged"
    assert any(t.startswith("Acknowledged REM-000001") for t in _told(slack, "U0LEE"))
    card = _item_card(slack, "U0LEE")
    assert card.updates >= 1
    assert list(_buttons(card)) == [actions.REMEDIATION_CLOSE]

    await _press(slack, "U0LEE", card, actions.REMEDIATION_CLOSE)
    await eventually(lambda: len(slack.fake.views_opened()) == 1)
    modal = slack.fake.views_opened()[0]
    assert modal["callback_id"] == CLOSE_CALLBACK
    empty = await _submit(slack, modal, "   ")
    assert ROOT_CAUSE_BLOCK in json.loads(empty.body)["errors"]
    assert await _status(slack) == "acknowledged"

    await _submit(slack, modal, "the price file was stale; synced nightly now")
    assert await _status(slack) == "closed"
    card = _item_card(slack, "U0LEE")
    assert _buttons(card) == {}
    assert "synced nightly now" in json.dumps(card.blocks)


async def test_someone_else_s_press_is_refused(slack: SlackHarness) -> None:
    for n in (1, 2, 3):
        await slack.file(code="PRICE_MISMATCH", title=f"Invoice {n}")
    await slack.settle()
    card = _item_card(slack, "U0LEE")
    slack.fake.add_channel(FakeSlackAPI.dm_channel("U0DANA"))
    await _press(slack, "U0DANA", card, actions.REMEDIATION_ACK)
    assert "Only the code's owner" in _told(slack, "U0DANA")[-1]
    assert await _status(slack) == "open"


async def test_the_digest_button_shows_the_card(slack: SlackHarness) -> None:
    ref = await slack.file(title="Monitors")
    await slack.settle()
    assert await send_digests(slack.services, at_once=True) == 2
    await slack.settle()
    dm = slack.fake.messages_in(FakeSlackAPI.dm_channel("U0DANA"))
    digest = next(m for m in dm if "Good morning" in (m.text or ""))
    assert _buttons(digest) == {actions.DIGEST_OPEN: "open:case:1"}
    assert ref in json.dumps(digest.blocks)
    before = len(slack.fake.calls("chat.update"))
    await _press(slack, "U0DANA", digest, actions.DIGEST_OPEN)
    assert len(slack.fake.calls("chat.update")) > before  # her card of the case, shown again

"""A policy proposal's card in Slack, end to end: signed presses into the real server, the fake
Slack Web API behind it. The second admin approves or rejects from the card (a rejection's reason
in a modal, required); the proposer's own press is refused and audited; a press on a decided card
is a conflict; a forged value is answered and stores nothing; every card follows the decision."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from cards import actions
from cards.slack_proposal import REASON_BLOCK, REASON_INPUT, REJECT_CALLBACK
from handlers.clock import ManualClock
from handlers.context import Services
from handlers.policy_versions import bootstrap
from policy.loader import parse_policy
from storage import policy_versions as versions
from storage.database import Database
from storage.tables import audit_events, outbox, policy_versions
from tests.handlers.test_policy_admin import TEXT, say
from tests.slack.fake_slack_api import FakeSlackAPI, Message
from tests.slack.harness import Answer, SlackHarness, eventually, slack_for
from tests.slack.signing import (
    block_actions_payload,
    interaction_body,
    text_state,
    view_submission_payload,
)


@pytest.fixture
async def slack(
    db: Database, clock: ManualClock, fake_slack: FakeSlackAPI
) -> AsyncIterator[SlackHarness]:
    policy = await bootstrap(db, parse_policy(TEXT, "policy.yaml"), TEXT, clock)
    async with slack_for(Services(db, policy, clock), fake_slack) as harness:
        await say(harness.services, "ada", "set tier category-lead sla 8h")
        await say(harness.services, "ada", "propose approvers need a working day")
        await harness.settle()
        yield harness


def _buttons(message: Message) -> dict[str, str]:
    return {
        e["action_id"]: e["value"]
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] in actions.POLICY_DECISIONS
    }


async def _press(slack: SlackHarness, user: str, action_id: str, value: str) -> Answer:
    """A press in the bot's DM with `user` (as if a card with that button were there)."""
    slack.fake.add_channel(FakeSlackAPI.dm_channel(user))
    payload = block_actions_payload(
        user_id=user,
        action_id=action_id,
        value=value,
        channel_id=FakeSlackAPI.dm_channel(user),
        message_ts="1700000000.000100",
        trigger_id=f"trigger-{user}-{time.monotonic_ns()}",
    )
    answer = await slack.post(interaction_body(payload))
    assert answer.status == 200
    await slack.settle()
    return answer


async def _submit_reason(slack: SlackHarness, modal: dict[str, Any], text: str) -> Answer:
    payload = view_submission_payload(
        user_id="U0MARIA",
        callback_id=modal["callback_id"],
        private_metadata=modal["private_metadata"],
        values={REASON_BLOCK: {REASON_INPUT: text_state(text)}},
        view_id=modal["id"],
    )
    answer = await slack.post(interaction_body(payload))
    await slack.settle()
    return answer


def _told(slack: SlackHarness, user: str) -> list[str]:
    return [e.text or "" for e in slack.fake.ephemerals(user)]


async def _state(slack: SlackHarness, version_id: int = 2) -> str:
    async with slack.services.db.reading() as conn:
        stored = await versions.get(conn, version_id)
    return stored.state.value if stored else "missing"


async def _stored(slack: SlackHarness) -> tuple[int, ...]:
    counts = []
    async with slack.services.db.reading() as conn:
        for table in (audit_events, outbox, policy_versions):
            counts.append(int(await conn.scalar(select(func.count()).select_from(table)) or 0))
    return tuple(counts)


async def test_the_other_admin_gets_the_card_and_approves_from_it(slack: SlackHarness) -> None:
    card = slack.card_of("U0MARIA")
    assert _buttons(card) == {a: "policy:2" for a in actions.POLICY_DECISIONS}
    assert "+  sla: 8h" in json.dumps(card.blocks)
    assert "cases replayed" in json.dumps(card.blocks)
    assert not [m for m in slack.fake.messages_in(FakeSlackAPI.dm_channel("U0ADA")) if m.blocks]

    await _press(slack, "U0MARIA", actions.POLICY_APPROVE, "policy:2")

    assert await _state(slack) == "active"
    assert slack.services.policy.tier("category-lead").sla.total_seconds() == 8 * 3600
    assert any("Approved POL-000002" in t for t in _told(slack, "U0MARIA"))
    card = slack.card_of("U0MARIA")
    assert card.updates >= 1
    assert _buttons(card) == {}
    assert "Approved by Maria Finance" in json.dumps(card.blocks)

    await _press(slack, "U0MARIA", actions.POLICY_APPROVE, "policy:2")  # the card was stale
    assert _told(slack, "U0MARIA")[-1] == "POL-000002 is active, not a proposal."


async def test_the_proposers_own_press_is_refused_and_audited(slack: SlackHarness) -> None:
    await _press(slack, "U0ADA", actions.POLICY_APPROVE, "policy:2")

    assert "four eyes" in _told(slack, "U0ADA")[-1]
    assert await _state(slack) == "proposed"
    async with slack.services.db.reading() as conn:
        last = await conn.scalar(select(audit_events.c.action).order_by(audit_events.c.seq.desc()))
    assert last == "policy.refused"


async def test_a_rejection_needs_its_reason_and_the_cards_follow(slack: SlackHarness) -> None:
    await _press(slack, "U0MARIA", actions.POLICY_REJECT, "policy:2")
    await eventually(lambda: len(slack.fake.views_opened()) == 1)
    modal = slack.fake.views_opened()[0]
    assert modal["callback_id"] == REJECT_CALLBACK

    empty = await _submit_reason(slack, modal, "   ")
    assert json.loads(empty.body)["response_action"] == "errors"
    assert REASON_BLOCK in json.loads(empty.body)["errors"]
    assert await _state(slack) == "proposed"

    done = await _submit_reason(slack, modal, "not before the audit")
    assert done.status == 200
    assert await _state(slack) == "rejected"
    assert _told(slack, "U0MARIA")[-1] == "Rejected POL-000002."
    card = slack.card_of("U0MARIA")
    assert _buttons(card) == {}
    assert "Rejected by Maria Finance" in json.dumps(card.blocks)
    assert "not before the audit" in json.dumps(card.blocks)
    ada = slack.fake.messages_in(FakeSlackAPI.dm_channel("U0ADA"))
    assert any("rejected POL-000002" in (m.text or "") for m in ada)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("policy:abc", "does not name a policy proposal"),
        ("case:1:step:1", "does not name a policy proposal"),
        ("policy:99", "There is no policy version POL-000099."),
    ],
)
async def test_a_forged_value_is_answered_and_stores_nothing(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture, value: str, says: str
) -> None:
    before = await _stored(slack)
    with caplog.at_level(logging.INFO):
        await _press(slack, "U0MARIA", actions.POLICY_APPROVE, value)
    assert says in _told(slack, "U0MARIA")[-1]
    assert await _stored(slack) == before
    assert not [r for r in caplog.records if r.exc_info]

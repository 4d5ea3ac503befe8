"""Slack end to end: signed requests into the real server, the fake Slack Web API behind it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.serve import build_runtime
from bot.settings import load_settings
from cards import actions
from handlers.clock import ManualClock
from handlers.commands import FileException
from handlers.context import Actor, Services
from handlers.filing import file_exception
from policy.request import ExceptionRequest
from storage import audit
from storage.records import CaseStatus, StepStatus
from tests.slack.fake_slack_api import BOT_TOKEN, FakeSlackAPI
from tests.slack.harness import (
    SECRET,
    SlackHarness,
    buttons_of,
    eventually,
    slack_for,
)
from tests.slack.signing import block_actions_payload, interaction_body

ACK_BUDGET_SECONDS = 1.5  # well inside Slack's 3 seconds, even on a loaded test machine


@pytest.fixture
async def slack(services: Services, fake_slack: FakeSlackAPI) -> AsyncIterator[SlackHarness]:
    async with slack_for(services, fake_slack) as harness:
        yield harness


async def test_file_card_click_modal_decision_update_and_requester_dm(slack: SlackHarness) -> None:
    ref = await slack.file(amount=30000.0, references={"po": "PO-88812"})  # needs a rationale
    await slack.settle()
    lee_card = slack.card_of("U0LEE")
    assert set(buttons_of(lee_card)) == set(actions.DECISIONS)
    assert "PO-88812" in json.dumps(lee_card.blocks)
    assert ref in (lee_card.text or "")

    answer = await slack.press("U0LEE", lee_card, actions.APPROVE)
    assert answer.status == 200
    assert answer.seconds < ACK_BUDGET_SECONDS
    await eventually(lambda: len(slack.fake.views_opened()) == 1)
    modal = slack.fake.views_opened()[0]
    assert modal["callback_id"] == "exc_rationale"

    submitted = await slack.submit_rationale("U0LEE", modal, "Needed for the new hires")
    assert submitted.status == 200
    await slack.settle()

    details = await slack.details(ref)
    assert [s.status for s in details.steps] == [StepStatus.APPROVED, StepStatus.OPEN]
    assert [(d.person, d.rationale, d.platform) for d in details.decisions] == [
        ("lee", "Needed for the new hires", "slack")
    ]
    vote = next(e for e in details.history if e.action == "decision.approved")
    assert (vote.actor, vote.platform, vote.data["platform_user"]) == ("lee", "slack", "U0LEE")
    # Every card of the case is edited in place; the other approver's loses its buttons.
    dana_card = slack.card_of("U0DANA")
    assert dana_card.updates >= 1
    assert buttons_of(dana_card) == {}
    assert "Needed for the new hires" in json.dumps(dana_card.blocks)
    assert any("You approved" in (e.text or "") for e in slack.fake.ephemerals("U0LEE"))

    maria_card = slack.card_of("U0MARIA")
    await slack.press("U0MARIA", maria_card, actions.APPROVE)
    await eventually(lambda: len(slack.fake.views_opened()) == 2)
    await slack.submit_rationale("U0MARIA", slack.fake.views_opened()[1], "Within budget")
    await slack.settle()

    assert (await slack.details(ref)).case.status is CaseStatus.APPROVED
    rita_dm = slack.fake.messages_in(FakeSlackAPI.dm_channel("U0RITA"))
    assert any("was approved" in (m.text or "") for m in rita_dm)
    assert buttons_of(slack.card_of("U0MARIA")) == {}
    async with slack.services.db.reading() as conn:
        assert (await audit.verify(conn)).ok


async def test_approve_without_a_required_rationale_decides_at_once(slack: SlackHarness) -> None:
    ref = await slack.file(amount=500.0)
    await slack.settle()

    answer = await slack.press("U0DANA", slack.card_of("U0DANA"), actions.APPROVE)
    assert answer.seconds < ACK_BUDGET_SECONDS
    await slack.settle()

    assert (await slack.details(ref)).case.status is CaseStatus.APPROVED
    assert slack.fake.views_opened() == []


async def test_an_empty_rationale_is_refused_on_the_form(slack: SlackHarness) -> None:
    ref = await slack.file(amount=500.0)
    await slack.settle()
    await slack.press("U0LEE", slack.card_of("U0LEE"), actions.REJECT)
    await eventually(lambda: len(slack.fake.views_opened()) == 1)

    answer = await slack.submit_rationale("U0LEE", slack.fake.views_opened()[0], "   ")

    assert answer.status == 200
    body = json.loads(answer.body)
    assert body["response_action"] == "errors"
    assert "rationale" in body["errors"]
    await slack.settle()
    assert (await slack.details(ref)).decisions == []


@pytest.mark.parametrize(
    ("secret", "age_seconds"),
    [("not-the-secret", 0), (SECRET, 600), (SECRET, -600)],
    ids=["forged", "stale", "from-the-future"],
)
async def test_forged_or_stale_signatures_are_401_and_change_nothing(
    slack: SlackHarness, secret: str, age_seconds: int
) -> None:
    ref = await slack.file(amount=500.0)
    await slack.settle()
    card = slack.card_of("U0LEE")
    payload = block_actions_payload(
        user_id="U0LEE",
        action_id=actions.APPROVE,
        value=buttons_of(card)[actions.APPROVE],
        channel_id=card.channel,
        message_ts=card.ts,
    )
    answer = await slack.post(
        interaction_body(payload), secret=secret, timestamp=int(time.time()) - age_seconds
    )

    assert answer.status == 401
    await slack.settle()
    assert (await slack.details(ref)).decisions == []
    assert slack.fake.ephemerals() == []


async def test_presses_that_are_not_allowed_are_explained_and_change_nothing(
    slack: SlackHarness,
) -> None:
    ref = await slack.file(amount=500.0, requester="lee")  # lee files: dana alone approves
    await slack.settle()
    dana_card = slack.card_of("U0DANA")

    await slack.press("U0LEE", dana_card, actions.APPROVE)  # the requester
    await slack.press("U0CARL", dana_card, actions.APPROVE)  # not assigned (found by email)
    await slack.press("U0STRANGER", dana_card, actions.APPROVE)  # not in the policy
    await slack.settle()

    said = {e.user: e.text or "" for e in slack.fake.ephemerals()}
    assert "You filed this exception" in said["U0LEE"]
    assert "not an approver" in said["U0CARL"]
    assert "don't know who you are" in said["U0STRANGER"]
    details = await slack.details(ref)
    assert details.decisions == []
    assert details.case.status is CaseStatus.PENDING


async def test_two_approvers_pressing_at_once_one_wins_the_other_is_told(
    slack: SlackHarness,
) -> None:
    ref = await slack.file(amount=500.0)
    await slack.settle()
    lee_card, dana_card = slack.card_of("U0LEE"), slack.card_of("U0DANA")

    await asyncio.gather(
        slack.press("U0LEE", lee_card, actions.APPROVE),
        slack.press("U0DANA", dana_card, actions.APPROVE),
    )
    await slack.settle()

    details = await slack.details(ref)
    assert len(details.decisions) == 1
    winner = details.decisions[0].person
    loser = "U0DANA" if winner == "lee" else "U0LEE"
    told = [e.text or "" for e in slack.fake.ephemerals(loser)]
    assert any("already approved" in text for text in told)
    assert buttons_of(slack.card_of(loser)) == {}  # the stale card caught up


async def test_slack_answering_429_is_retried_after_retry_after(slack: SlackHarness) -> None:
    slack.fake.fail_next("chat.postMessage", status=429, times=1, retry_after=1)
    ref = await slack.file(amount=500.0)
    await slack.settle()

    posts = slack.fake.calls("chat.postMessage")
    assert posts[0].status == 429
    delivered = sorted(c.params["channel"] for c in posts if c.ok)
    assert delivered == ["DU0DANA", "DU0LEE", "DU0RITA"]  # two cards and a note, each once
    assert ref in (slack.card_of("U0LEE").text or "")


async def test_slack_failing_stays_in_the_outbox_and_is_delivered_later(
    slack: SlackHarness, clock: ManualClock
) -> None:
    slack.fake.fail_next("conversations.open", status=500, times=6)
    await slack.file(amount=500.0)
    await eventually(lambda: len(slack.fake.calls("conversations.open")) >= 3)
    await asyncio.sleep(0.2)
    assert not any(c.ok for c in slack.fake.calls("chat.postMessage"))

    clock.advance(timedelta(minutes=1))  # past the outbox's backoff
    await slack.settle()

    dms = [c.params["channel"] for c in slack.fake.calls("chat.postMessage") if c.ok]
    assert sorted(dms) == ["DU0DANA", "DU0LEE", "DU0RITA"]  # each message sent exactly once


async def test_undelivered_messages_survive_a_restart(
    services: Services, fake_slack: FakeSlackAPI
) -> None:
    request = ExceptionRequest.model_validate(
        {"code": "OFF_CONTRACT", "title": "Filed while Slack was down", "requester": "rita"}
    )
    await file_exception(services, Actor.system("intake:erp", "api"), FileException(request))

    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake_slack.url,
        }
    )
    for _ in range(2):  # start, deliver, stop; then start again: nothing is sent twice
        runtime = build_runtime(services, settings)
        await runtime.start()
        await eventually(lambda: len(fake_slack.calls("chat.postMessage")) >= 3)
        await runtime.stop()

    dms = sorted(c.params["channel"] for c in fake_slack.calls("chat.postMessage") if c.ok)
    assert dms == ["DU0DANA", "DU0LEE", "DU0RITA"]  # two cards and the requester's note


async def test_unknown_buttons_are_dropped(slack: SlackHarness) -> None:
    payload = block_actions_payload(
        user_id="U0LEE",
        action_id="exc_self_destruct",
        value="case:1:step:1",
        channel_id="DU0LEE",
        message_ts="1.000001",
    )
    answer = await slack.post(interaction_body(payload))
    await slack.settle()
    assert answer.status == 200
    assert slack.fake.ephemerals() == []
    assert slack.fake.views_opened() == []

"""Slack slash commands, the filing form and App Home, through the real server."""

from __future__ import annotations

import json

import pytest

from cards import actions
from handlers.context import Services
from storage import cases
from storage.records import CaseStatus
from tests.slack.fake_slack_api import FakeSlackAPI
from tests.slack.harness import SlackHarness, buttons_of, eventually
from tests.slack.signing import interaction_body, option_state, text_state, view_submission_payload
from tests.slack.test_flows import slack

__all__ = ["slack"]  # the fixture, shared with the flow tests


@pytest.fixture
async def filing_form(slack: SlackHarness) -> dict[str, object]:
    answer = await slack.command("U0RITA", "/exception", "", "open-form")
    assert answer.status == 200
    await eventually(lambda: len(slack.fake.views_opened()) == 1)
    return slack.fake.views_opened()[0]


def _submission(form: dict[str, object], **fields: dict[str, object]) -> str:
    values: dict[str, dict[str, object]] = {
        "code": {"value": option_state("OFF_CONTRACT")},
        "title": {"value": text_state("Laptops from a reseller")},
        "amount": {"value": text_state("1200")},
        "currency": {"value": text_state("EUR")},
    }
    values.update(fields)
    payload = view_submission_payload(
        user_id="U0RITA",
        callback_id=str(form["callback_id"]),
        values=values,
        view_id=str(form["id"]),
    )
    return interaction_body(payload)


async def test_exception_with_no_text_opens_the_filing_form(
    slack: SlackHarness, filing_form: dict[str, object]
) -> None:
    assert filing_form["callback_id"] == "exc_file"
    assert "OFF_CONTRACT" in json.dumps(filing_form["blocks"])


async def test_submitting_the_form_files_the_case(
    slack: SlackHarness, filing_form: dict[str, object]
) -> None:
    answer = await slack.post(_submission(filing_form))
    assert answer.status == 200
    assert answer.body in ("", "{}") or "errors" not in answer.body
    await slack.settle()

    details = await slack.details("EXC-000001")
    assert details.case.requester == "rita"
    assert details.case.amount == 1200.0
    assert [d.action for d in details.history][:1] == ["case.filed"]
    rita_dm = slack.fake.messages_in(FakeSlackAPI.dm_channel("U0RITA"))
    assert any("EXC-000001" in (m.text or "") for m in rita_dm)
    assert buttons_of(slack.card_of("U0LEE"))  # the approvers got their cards


async def test_form_errors_show_on_the_form_and_store_nothing(
    slack: SlackHarness, filing_form: dict[str, object], services: Services
) -> None:
    answer = await slack.post(
        _submission(
            filing_form,
            amount={"value": text_state("lots")},
            currency={"value": text_state("euros")},
        )
    )
    body = json.loads(answer.body)
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"amount", "currency"}
    await slack.settle()
    with pytest.raises(Exception, match="no exception EXC-000001"):
        await slack.details("EXC-000001")


async def test_status_list_and_help_answer_in_the_response_url(slack: SlackHarness) -> None:
    ref = await slack.file(amount=500.0)
    await slack.settle()

    await slack.command("U0RITA", "/exception", f"status {ref}", "status")
    await slack.command("U0RITA", "/exception", "list", "list")
    await slack.command("U0RITA", "/exception", "what is this", "help")
    await slack.command("U0CARL", "/exception", f"status {ref}", "nosy")
    await slack.settle()

    status = slack.fake.responses("status")
    assert status[0]["response_type"] == "ephemeral"
    assert any(ref in json.dumps(r) for r in status[1:])  # the card itself
    assert ref in slack.fake.responses("list")[0]["text"]
    assert "/exception status EXC-000123" in slack.fake.responses("help")[0]["text"]
    assert "that you can see" in slack.fake.responses("nosy")[0]["text"]


async def test_approvals_lists_pending_cards_with_buttons(slack: SlackHarness) -> None:
    ref = await slack.file(amount=500.0)
    await slack.settle()

    await slack.command("U0LEE", "/approvals", "", "queue")
    await slack.settle()

    replies = slack.fake.responses("queue")
    assert "1 waiting for your approval" in replies[0]["text"]
    card = replies[1]
    assert ref in card["text"]
    pressed = [
        e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert pressed == list(actions.DECISIONS)


async def test_withdraw_from_slack(slack: SlackHarness) -> None:
    ref = await slack.file(amount=500.0)
    await slack.settle()
    await slack.command("U0RITA", "/exception", f"withdraw {ref} bought elsewhere", "withdraw")
    await slack.settle()
    assert (await slack.details(ref)).case.status is CaseStatus.WITHDRAWN
    assert buttons_of(slack.card_of("U0LEE")) == {}  # the approvers' cards were updated


async def test_strangers_are_told_politely_and_can_do_nothing(slack: SlackHarness) -> None:
    await slack.command("U0STRANGER", "/exception", "list", "stranger")
    await slack.command("U0STRANGER", "/exception", "", "stranger-form")
    await slack.settle()
    assert "don't know who you are" in slack.fake.responses("stranger")[0]["text"]
    assert "don't know who you are" in slack.fake.responses("stranger-form")[0]["text"]
    assert slack.fake.views_opened() == []


async def test_bad_command_text_gets_usage_not_an_error(slack: SlackHarness) -> None:
    await slack.command("U0LEE", "/approvals", "approve banana", "usage")
    await slack.settle()
    assert "is not a case id" in slack.fake.responses("usage")[0]["text"]


async def test_app_home_shows_the_queue_and_retries_are_harmless(slack: SlackHarness) -> None:
    ref = await slack.file(amount=500.0)
    await slack.settle()

    first = await slack.open_home("U0LEE")
    retry = await slack.open_home("U0LEE", headers={"X-Slack-Retry-Num": "1"})
    await slack.settle()

    assert first.status == retry.status == 200
    home = slack.fake.home_of("U0LEE")
    assert home is not None
    assert ref in json.dumps(home["blocks"])
    assert len(slack.fake.calls("views.publish")) == 2  # published twice, one home view
    await slack.open_home("U0STRANGER")
    await slack.settle()
    stranger_home = slack.fake.home_of("U0STRANGER")
    assert stranger_home is not None
    assert "don't know who you are" in json.dumps(stranger_home["blocks"])


async def test_a_press_on_the_app_home_decides_and_republishes_it(slack: SlackHarness) -> None:
    from tests.slack.signing import block_actions_payload

    ref = await slack.file(amount=500.0)
    await slack.settle()
    await slack.open_home("U0DANA")
    await slack.settle()
    home = slack.fake.home_of("U0DANA")
    assert home is not None
    value = next(
        e["value"]
        for b in home["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == actions.APPROVE
    )
    payload = block_actions_payload(
        user_id="U0DANA", action_id=actions.APPROVE, value=value, view_id=str(home["id"])
    )

    assert (await slack.post(interaction_body(payload))).status == 200
    await slack.settle()

    assert (await slack.details(ref)).case.status is CaseStatus.APPROVED
    republished = slack.fake.home_of("U0DANA")
    assert republished is not None
    assert "Nothing is waiting for your approval" in json.dumps(republished["blocks"])


async def test_several_pending_approvals_come_as_one_list(slack: SlackHarness) -> None:
    refs = [await slack.file(amount=500.0, title=f"Case {i}") for i in range(3)]
    await slack.settle()
    await slack.command("U0LEE", "/approvals", "", "three")
    await slack.settle()
    [listing] = slack.fake.responses("three")
    assert all(ref in json.dumps(listing["blocks"]) for ref in refs)


async def test_the_form_submitted_twice_files_once_and_says_so(
    slack: SlackHarness, filing_form: dict[str, object]
) -> None:
    for _ in range(2):
        assert (await slack.post(_submission(filing_form))).status == 200
        await slack.settle()

    async with slack.services.db.reading() as conn:
        assert (await cases.count_by_status(conn)) == {"pending": 1}
    rita_dm = slack.fake.messages_in(FakeSlackAPI.dm_channel("U0RITA"))
    last = json.dumps(rita_dm[-1].blocks)
    assert "You already filed this as EXC-000001" in last

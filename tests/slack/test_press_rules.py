"""Slack presses ask the case model first: a person who may not act is told why at once and
no form opens; a person who must give a reason gets the rationale modal (a manager deciding
an escalated step for an approver, too); the requester's Answer opens a form that answers.

Signed requests into the real server, the fake Slack Web API behind it (tests.slack.harness).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from cards import actions
from handlers.clock import ManualClock
from handlers.commands import Decide
from handlers.context import Actor, Services
from handlers.deciding import decide
from handlers.sweep import sweep
from policy.loader import load_policy
from storage.database import Database
from storage.records import Action, CaseStatus, StepStatus
from tests.conftest import START
from tests.handlers.conftest import OVERDUE_POLICY
from tests.slack.fake_slack_api import FakeSlackAPI, Message
from tests.slack.harness import (
    SlackHarness,
    buttons_of,
    eventually,
    slack_for,
)


@pytest.fixture
async def slack(services: Services, fake_slack: FakeSlackAPI) -> AsyncIterator[SlackHarness]:
    """Slack with tests/data/policy.yaml."""
    async with slack_for(services, fake_slack) as harness:
        yield harness


@pytest.fixture
async def late_slack(
    db: Database, clock: ManualClock, fake_slack: FakeSlackAPI
) -> AsyncIterator[SlackHarness]:
    """Slack with tests/data/overdue.yaml (leads escalate to maria after two reminders)."""
    services = Services(db=db, policy=load_policy(OVERDUE_POLICY), clock=clock)
    async with slack_for(services, fake_slack) as harness:
        yield harness


def told(slack: SlackHarness, user: str) -> list[str]:
    """Everything the bot said to `user` after a press: ephemerals, and DMs as a fallback."""
    ephemeral = [e.text or "" for e in slack.fake.ephemerals(user)]
    direct = [m.text or "" for m in slack.fake.messages_in(FakeSlackAPI.dm_channel(user))]
    return ephemeral + direct


def card_with(slack: SlackHarness, user: str, action_id: str) -> Message:
    """The newest message in the DM with `user` that carries the button `action_id`."""
    found = [
        m
        for m in slack.fake.messages_in(FakeSlackAPI.dm_channel(user))
        if action_id in buttons_of(m)
    ]
    assert found, f"no card with {action_id} in the DM with {user}"
    return found[-1]


async def refusals(slack: SlackHarness, ref: str) -> list[str]:
    details = await slack.details(ref)
    return [e.actor for e in details.history if e.action == "decision.refused"]


# --- (a) the requester ----------------------------------------------------------------------


@pytest.mark.parametrize("action_id", [actions.APPROVE, actions.REJECT, actions.REQUEST_INFO])
async def test_the_requester_is_refused_at_once_and_no_form_opens(
    slack: SlackHarness, action_id: str
) -> None:
    # A high-value case: approving needs a rationale too, so every button would ask for one.
    ref = await slack.file(amount=30000.0)
    await slack.settle()
    lee_card = slack.card_of("U0LEE")

    answer = await slack.press("U0RITA", lee_card, action_id)
    assert answer.status == 200
    await slack.settle()

    assert any("You filed this exception" in text for text in told(slack, "U0RITA"))
    assert slack.fake.calls("views.open") == []
    assert slack.fake.views_opened() == []
    details = await slack.details(ref)
    assert details.decisions == []
    assert details.case.status is CaseStatus.PENDING
    assert [s.status for s in details.steps] == [StepStatus.OPEN, StepStatus.WAITING]
    assert await refusals(slack, ref) == ["rita"]  # the refusal is in the audit log


# --- (b) a case already decided, a step already voted on ------------------------------------


@pytest.mark.parametrize("action_id", [actions.APPROVE, actions.REJECT, actions.REQUEST_INFO])
async def test_a_press_on_an_already_approved_case_is_refused_without_a_form(
    slack: SlackHarness, action_id: str
) -> None:
    ref = await slack.file(amount=500.0)
    await slack.settle()
    lee_card = slack.card_of("U0LEE")  # kept as it was: its buttons are gone after the vote

    await slack.press("U0DANA", slack.card_of("U0DANA"), actions.APPROVE)  # straight through
    await slack.settle()
    assert (await slack.details(ref)).case.status is CaseStatus.APPROVED

    answer = await slack.press("U0LEE", lee_card, action_id)
    assert answer.status == 200
    await slack.settle()

    said = [e.text or "" for e in slack.fake.ephemerals("U0LEE")]
    assert any(f"{ref} is already approved" in text for text in said), said
    assert any("Dana Reyes approved it" in text for text in said)
    assert slack.fake.calls("views.open") == []
    details = await slack.details(ref)
    assert [(d.person, d.action) for d in details.decisions] == [("dana", Action.APPROVE)]
    assert buttons_of(slack.card_of("U0LEE")) == {}


async def test_an_approver_who_already_voted_is_told_and_no_form_opens(
    slack: SlackHarness,
) -> None:
    ref = await slack.file(amount=500.0, details={"route": "dual"})  # 2 of lee, dana, maria
    await slack.settle()
    lee_card = slack.card_of("U0LEE")

    await slack.press("U0LEE", lee_card, actions.APPROVE)
    await slack.settle()
    assert len((await slack.details(ref)).decisions) == 1

    await slack.press("U0LEE", lee_card, actions.REJECT)  # would need a rationale
    await slack.settle()

    said = [e.text or "" for e in slack.fake.ephemerals("U0LEE")]
    assert any("You already approved this step" in text for text in said), said
    assert slack.fake.calls("views.open") == []
    details = await slack.details(ref)
    assert [(d.person, d.action) for d in details.decisions] == [("lee", Action.APPROVE)]
    assert details.steps[0].status is StepStatus.OPEN


# --- (c) a manager on an escalated step ------------------------------------------------------


async def escalate(slack: SlackHarness) -> None:
    """Sweep at 10:00, 11:00 and 12:00: two reminders, then the step escalates to maria."""
    clock = slack.services.clock
    assert isinstance(clock, ManualClock)
    for hour in (1, 2, 3):
        clock.set(START + timedelta(hours=hour))
        await sweep(slack.services, "test-sweeper")
    slack.runtime.delivery.wake()
    await slack.settle()


async def test_a_manager_on_an_escalated_step_is_asked_why_and_decides_on_behalf(
    late_slack: SlackHarness,
) -> None:
    slack = late_slack
    ref = await slack.file()
    await slack.settle()
    await escalate(slack)
    details = await slack.details(ref)
    assert details.steps[0].escalated

    maria_card = card_with(slack, "U0MARIA", actions.APPROVE)
    answer = await slack.press("U0MARIA", maria_card, actions.APPROVE)
    assert answer.status == 200
    await eventually(lambda: len(slack.fake.views_opened()) == 1)
    modal = slack.fake.views_opened()[0]
    assert modal["callback_id"] == "exc_rationale"
    assert json.loads(modal["private_metadata"])["action"] == actions.APPROVE
    assert "as the manager of Lee Park" in json.dumps(modal["blocks"])
    assert (await slack.details(ref)).decisions == []  # nothing until the form is sent

    submitted = await slack.submit_rationale("U0MARIA", modal, "Supplier vetted; urgent")
    assert submitted.status == 200
    await slack.settle()

    details = await slack.details(ref)
    assert details.case.status is CaseStatus.APPROVED
    [vote] = details.decisions
    assert (vote.person, vote.on_behalf_of, vote.rationale, vote.platform) == (
        "maria",
        "lee",
        "Supplier vetted; urgent",
        "slack",
    )
    approved = next(e for e in details.history if e.action == "decision.approved")
    assert approved.data["as_manager"] is True


async def test_before_the_escalation_the_manager_is_refused_without_a_form(
    late_slack: SlackHarness,
) -> None:
    slack = late_slack
    ref = await slack.file()
    await slack.settle()

    await slack.press("U0MARIA", slack.card_of("U0LEE"), actions.APPROVE)
    await slack.settle()

    said = [e.text or "" for e in slack.fake.ephemerals("U0MARIA")]
    assert any("not an approver of this step" in text for text in said), said
    assert slack.fake.calls("views.open") == []
    assert (await slack.details(ref)).decisions == []


# --- (d) the requester answers a question ---------------------------------------------------


async def ask(slack: SlackHarness, ref: str) -> None:
    """Lee asks the requester a question (through the handler); the cards catch up."""
    case_id = int(ref.removeprefix("EXC-"))
    await decide(
        slack.services,
        Actor("lee", "console"),
        Decide(case_id, Action.REQUEST_INFO, "Which PO is this for?"),
    )
    slack.runtime.delivery.wake()
    await slack.settle()


async def test_the_requester_answers_through_the_answer_form_and_the_step_reopens(
    slack: SlackHarness,
) -> None:
    ref = await slack.file(amount=500.0)
    await slack.settle()
    await ask(slack, ref)
    assert (await slack.details(ref)).steps[0].status is StepStatus.INFO_REQUESTED
    rita_card = card_with(slack, "U0RITA", actions.ANSWER)

    answer = await slack.press("U0RITA", rita_card, actions.ANSWER)
    assert answer.status == 200
    await eventually(lambda: len(slack.fake.views_opened()) == 1)
    modal = slack.fake.views_opened()[0]
    assert json.loads(modal["private_metadata"])["action"] == actions.ANSWER
    assert (await slack.details(ref)).steps[0].status is StepStatus.INFO_REQUESTED

    submitted = await slack.submit_rationale("U0RITA", modal, "PO-88812")
    assert submitted.status == 200
    await slack.settle()

    details = await slack.details(ref)
    assert details.steps[0].status is StepStatus.OPEN
    assert details.case.status is CaseStatus.PENDING
    answered = next(e for e in details.history if e.action == "case.info_answered")
    assert answered.actor == "rita"
    assert "PO-88812" in json.dumps(answered.data) + (answered.rationale or "")
    assert any("went to the approvers" in text for text in told(slack, "U0RITA"))
    assert actions.APPROVE in buttons_of(slack.card_of("U0LEE"))  # decidable again


async def test_only_the_requester_may_answer_and_no_form_opens_for_others(
    slack: SlackHarness,
) -> None:
    ref = await slack.file(amount=500.0)
    await slack.settle()
    await ask(slack, ref)
    rita_card = card_with(slack, "U0RITA", actions.ANSWER)

    await slack.press("U0DANA", rita_card, actions.ANSWER)
    await slack.settle()

    said = [e.text or "" for e in slack.fake.ephemerals("U0DANA")]
    assert any("Only the person who filed" in text for text in said), said
    assert slack.fake.calls("views.open") == []
    assert (await slack.details(ref)).steps[0].status is StepStatus.INFO_REQUESTED

"""Teams card actions ask permission before a rationale: the requester pressing Approve or
Reject sees the segregation-of-duties refusal on the card, never a request for a reason; the
`exc_answer` verb answers the open question with the text of the card's input box.

Bot Framework tokens and activities into the real server, the fake connector behind it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import cards.teams as teams_cards
from cards import actions
from handlers.clock import ManualClock
from handlers.commands import Decide
from handlers.context import Actor, Services
from handlers.deciding import decide
from policy.loader import parse_policy
from storage.database import Database
from storage.records import Action, CaseStatus, StepStatus
from tests.teams.activities import TeamsUser
from tests.teams.harness import (
    DANA,
    POLICY,
    RITA,
    TeamsHarness,
    buttons_of,
)

HIGH_VALUE = "flags: [high-value]}"
# The harness's policy, with a rationale required to approve a high-value case (as in
# tests/data/policy.yaml), so that every button of such a card would ask for a reason.
RATIONALE_POLICY = POLICY.replace(HIGH_VALUE, "flags: [high-value], rationale: required}")
ASKS_FOR_A_REASON = ("needs a rationale", "Policy requires a rationale", "say why")
SEGREGATION = "You filed this exception, so you cannot decide it (segregation of duties)."


@pytest.fixture
def teams_services(db: Database, clock: ManualClock) -> Services:
    assert RATIONALE_POLICY != POLICY, "the harness policy changed: update RATIONALE_POLICY"
    policy = parse_policy(RATIONALE_POLICY, "teams-rationale-policy.yaml")
    return Services(db=db, policy=policy, clock=clock)


async def _press(
    teams: TeamsHarness, user: TeamsUser, verb: str, data: dict[str, Any], typed: str = ""
) -> dict[str, Any]:
    """Press `verb` on a card as `user` with `typed` in the input box; the card answered."""
    payload = {**data, teams_cards.RATIONALE_INPUT: typed}
    status, body = await teams.send(teams.activities.invoke(user, verb=verb, data=payload))
    assert status == 200
    assert body is not None
    assert body["statusCode"] == 200
    card: dict[str, Any] = body["value"]
    return card


async def _dana_buttons(teams: TeamsHarness) -> dict[str, dict[str, Any]]:
    [card] = await teams.cards_for("dana")
    return buttons_of(card)


@pytest.mark.parametrize("verb", [actions.APPROVE, actions.REJECT])
async def test_the_requester_sees_the_segregation_refusal_not_a_rationale_request(
    teams: TeamsHarness, verb: str
) -> None:
    ref = await teams.file(amount=30000.0)  # high-value: approving needs a reason too
    await teams.settle()
    data = (await _dana_buttons(teams))[verb]

    answered = json.dumps(await _press(teams, RITA, verb, data))

    assert SEGREGATION in answered
    for asking in ASKS_FOR_A_REASON:
        assert asking not in answered, asking
    details = await teams.details(ref)
    assert details.decisions == []
    assert details.case.status is CaseStatus.PENDING
    refused = [e for e in details.history if e.action == "decision.refused"]
    assert [(e.actor, e.platform) for e in refused] == [("rita", "teams")]


async def test_an_approver_without_a_reason_is_asked_for_one_on_the_card(
    teams: TeamsHarness,
) -> None:
    """The other side: one who may act, but must say why, is asked for a reason."""
    ref = await teams.file(amount=30000.0)
    await teams.settle()
    data = (await _dana_buttons(teams))[actions.APPROVE]

    answered = await _press(teams, DANA, actions.APPROVE, data)

    assert "Policy requires a rationale" in json.dumps(answered)
    assert SEGREGATION not in json.dumps(answered)
    assert set(buttons_of(answered)) == set(actions.DECISIONS)  # still decidable
    assert (await teams.details(ref)).decisions == []


async def _ask(teams: TeamsHarness, ref: str) -> dict[str, dict[str, Any]]:
    """Lee asks rita a question (through the handler); the buttons of rita's newest card."""
    case_id = int(ref.removeprefix("EXC-"))
    await decide(
        teams.services,
        Actor("lee", "console"),
        Decide(case_id, Action.REQUEST_INFO, "Which PO is this for?"),
    )
    teams.runtime.delivery.wake()
    await teams.settle()
    with_answer = [c for c in await teams.cards_for("rita") if actions.ANSWER in buttons_of(c)]
    assert with_answer, "rita's card has no Answer button"
    return buttons_of(with_answer[-1])


async def test_the_answer_verb_answers_with_the_typed_text_and_reopens_the_step(
    teams: TeamsHarness,
) -> None:
    ref = await teams.file(amount=500.0)
    await teams.settle()
    data = (await _ask(teams, ref))[actions.ANSWER]
    assert (await teams.details(ref)).steps[0].status is StepStatus.INFO_REQUESTED

    answered = await _press(teams, RITA, actions.ANSWER, data, "It is PO-88812")
    await teams.settle()

    assert actions.ANSWER not in buttons_of(answered)  # nothing left to answer
    details = await teams.details(ref)
    assert details.steps[0].status is StepStatus.OPEN
    assert details.case.status is CaseStatus.PENDING
    event = next(e for e in details.history if e.action == "case.info_answered")
    assert (event.actor, event.platform) == ("rita", "teams")
    assert "It is PO-88812" in json.dumps(event.data) + (event.rationale or "")
    assert set(await _dana_buttons(teams)) == set(actions.DECISIONS)  # decidable again


async def test_an_empty_answer_is_refused_on_the_card_and_the_question_stays(
    teams: TeamsHarness,
) -> None:
    ref = await teams.file(amount=500.0)
    await teams.settle()
    data = (await _ask(teams, ref))[actions.ANSWER]

    answered = await _press(teams, RITA, actions.ANSWER, data, "   ")

    assert "write your answer" in json.dumps(answered)
    assert (await teams.details(ref)).steps[0].status is StepStatus.INFO_REQUESTED


async def test_only_the_requester_may_answer(teams: TeamsHarness) -> None:
    ref = await teams.file(amount=500.0)
    await teams.settle()
    data = (await _ask(teams, ref))[actions.ANSWER]

    answered = await _press(teams, DANA, actions.ANSWER, data, "I'll answer for her")

    assert "Only the person who filed" in json.dumps(answered)
    details = await teams.details(ref)
    assert details.steps[0].status is StepStatus.INFO_REQUESTED
    assert not any(e.action == "case.info_answered" for e in details.history)

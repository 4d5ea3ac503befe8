"""Teams end to end: Bot Framework tokens, activities into the real server, the connector."""

from __future__ import annotations

import json
from typing import Any

import pytest

import cards.teams as teams_cards
from cards import actions
from storage import audit
from storage.records import CaseStatus, StepStatus
from tests.teams.activities import TeamsUser
from tests.teams.conftest import APP_ID
from tests.teams.fake_openid import CLOCK_SKEW_SECONDS
from tests.teams.harness import (
    DANA,
    MARIA,
    RITA,
    STRANGER,
    TeamsHarness,
    buttons_of,
)


def _card_of(response: dict[str, Any] | None) -> dict[str, Any]:
    assert response is not None
    assert response["statusCode"] == 200
    assert response["type"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = response["value"]
    return card


async def _press(
    teams: TeamsHarness, user: TeamsUser, verb: str, data: dict[str, Any], rationale: str = ""
) -> dict[str, Any]:
    payload = {**data, teams_cards.RATIONALE_INPUT: rationale}
    status, body = await teams.send(teams.activities.invoke(user, verb=verb, data=payload))
    assert status == 200
    return _card_of(body)


async def test_file_card_execute_decision_update_and_requester_dm(teams: TeamsHarness) -> None:
    ref = await teams.file(amount=30000.0)
    await teams.settle()

    [dana_card] = await teams.cards_for("dana")  # the bot opened dana's chat itself
    assert ref in json.dumps(dana_card)
    assert set(buttons_of(dana_card)) == set(actions.DECISIONS)
    assert dana_card["refresh"]["userIds"] == [DANA.aad_object_id]
    answered = await _press(teams, DANA, actions.APPROVE, buttons_of(dana_card)[actions.APPROVE])
    assert buttons_of(answered) == {}  # the invoke is answered with the updated card
    await teams.settle()

    details = await teams.details(ref)
    assert [s.status for s in details.steps] == [StepStatus.APPROVED, StepStatus.OPEN]
    assert (details.decisions[0].person, details.decisions[0].platform) == ("dana", "teams")
    vote = next(e for e in details.history if e.action == "decision.approved")
    assert vote.data["platform_user"] == DANA.id
    [maria_card] = await teams.cards_for("maria")
    await _press(teams, MARIA, actions.APPROVE, buttons_of(maria_card)[actions.APPROVE], "ok")
    await teams.settle()

    assert (await teams.details(ref)).case.status is CaseStatus.APPROVED
    assert any("was approved" in text for text in await teams.texts_for("rita"))
    # Every copy of the card was updated in place (a PUT on its activity).
    posted = [
        activity
        for chat in await teams.chats_of("dana")
        for activity in teams.connector.activities_in(chat)
        if activity.cards
    ]
    assert posted[0].updates >= 1
    assert buttons_of((await teams.cards_for("dana"))[0]) == {}
    async with teams.services.db.reading() as conn:
        assert (await audit.verify(conn)).ok


async def test_a_missing_rationale_comes_back_on_the_card(teams: TeamsHarness) -> None:
    ref = await teams.file()
    await teams.settle()
    [card] = await teams.cards_for("dana")

    answered = await _press(teams, DANA, actions.REJECT, buttons_of(card)[actions.REJECT], "  ")

    assert "rationale" in json.dumps(answered).lower()
    assert set(buttons_of(answered)) == set(actions.DECISIONS)  # still decidable
    assert (await teams.details(ref)).decisions == []


async def test_presses_that_are_not_allowed_change_nothing(teams: TeamsHarness) -> None:
    ref = await teams.file()
    await teams.settle()
    data = buttons_of((await teams.cards_for("dana"))[0])[actions.APPROVE]

    as_requester = await _press(teams, RITA, actions.APPROVE, data)
    as_stranger = await _press(teams, STRANGER, actions.APPROVE, data)
    as_maria = await _press(teams, MARIA, actions.APPROVE, data)  # not on this step

    assert "You filed this exception" in json.dumps(as_requester)
    assert "don't know who you are" in json.dumps(as_stranger)
    assert "not an approver" in json.dumps(as_maria)
    assert (await teams.details(ref)).decisions == []


@pytest.mark.parametrize(
    "wrong",
    [
        {"tamper": True},
        {"sign_with_unknown_key": True},
        {"issuer": "https://sts.windows.net/someone-else/"},
        {"audience": "another-app"},
        {"expires_in": -(CLOCK_SKEW_SECONDS + 60)},
        {"serviceurl_claim": "https://elsewhere.example/"},
        {"channel_id_endorsed": False},
        {"unknown_kid": True},
        {"algorithm": "HS256"},
        {"algorithm": "none"},
    ],
    ids=lambda w: next(iter(w)),
)
async def test_every_wrong_token_is_refused_and_changes_nothing(
    teams: TeamsHarness, wrong: dict[str, Any]
) -> None:
    ref = await teams.file()
    await teams.settle()
    data = buttons_of((await teams.cards_for("dana"))[0])[actions.APPROVE]
    activity = teams.activities.invoke(DANA, verb=actions.APPROVE, data=data)
    token = teams.openid.mint(app_id=APP_ID, service_url=activity["serviceUrl"], **wrong)

    status, _ = await teams.send(activity, token=token)

    assert status in (401, 403)
    assert (await teams.details(ref)).decisions == []


async def test_missing_or_malformed_authorization_is_401(teams: TeamsHarness) -> None:
    activity = teams.activities.message(DANA, "help")
    for header in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}):
        async with teams.http.post("/api/messages", json=activity, headers=header) as response:
            assert response.status == 401
    # Authentication comes before the body is read: garbage without a token is a 401 too.
    async with teams.http.post("/api/messages", data=b"{not json") as response:
        assert response.status == 401


async def test_a_token_expired_within_the_clock_skew_is_accepted(teams: TeamsHarness) -> None:
    activity = teams.activities.message(RITA, "help")
    token = teams.openid.mint(app_id=APP_ID, service_url=activity["serviceUrl"], expires_in=-60)
    status, _ = await teams.send(activity, token=token)
    assert status == 200


async def test_signing_keys_are_cached_and_refetched_on_an_unknown_key(
    teams: TeamsHarness,
) -> None:
    for _ in range(3):
        assert (await teams.send(teams.activities.message(RITA, "help")))[0] == 200
    assert teams.openid.jwks_requests == 1
    teams.openid.rotate_key()
    # A new key id within the hour is not fetched again: refused, fail closed.
    assert (await teams.send(teams.activities.message(RITA, "help")))[0] == 401
    assert teams.openid.jwks_requests == 1


async def test_commands_by_message(teams: TeamsHarness) -> None:
    ref = await teams.file()
    await teams.settle()

    for text in ("help", "list", f"status {ref}", "file", "gibberish please"):
        assert (await teams.send(teams.activities.message(RITA, text)))[0] == 200
    await teams.settle()

    [rita_chat] = await teams.chats_of("rita")
    chat = teams.connector.activities_in(rita_chat)
    texts = [a.text or "" for a in chat]
    assert any("file" in t and "status EXC-000123" in t for t in texts)  # help, twice
    assert any(ref in t for t in texts)  # list
    assert any(ref in json.dumps(a.cards) for a in chat)  # status shows the card
    assert any(json.dumps(a.cards).count(teams_cards.FILE_VERB) for a in chat)  # filing card


async def test_filing_from_the_card(teams: TeamsHarness) -> None:
    bad = {"code": "OFF_CONTRACT", "title": "Monitors", "amount": "lots"}
    status, body = await teams.send(
        teams.activities.invoke(RITA, verb=teams_cards.FILE_VERB, data=bad)
    )
    assert status == 200
    assert "amount" in json.dumps(_card_of(body))

    good = {**bad, "amount": "900", "currency": "EUR"}
    status, body = await teams.send(
        teams.activities.invoke(RITA, verb=teams_cards.FILE_VERB, data=good)
    )
    assert "EXC-000001" in json.dumps(_card_of(body))
    details = await teams.details("EXC-000001")
    assert (details.case.requester, details.case.amount) == ("rita", 900.0)


async def test_strangers_are_told_and_can_do_nothing(teams: TeamsHarness) -> None:
    assert (await teams.send(teams.activities.message(STRANGER, "list")))[0] == 200
    await teams.settle()
    chat = teams.connector.activities_in(teams.activities.conversation_id(STRANGER))
    assert ["don't know who you are" in (a.text or "") for a in chat] == [True]


async def test_the_connector_answering_429_and_502_is_retried(teams: TeamsHarness) -> None:
    teams.connector.fail_next(429, retry_after=1, method="POST")
    teams.connector.fail_next(502, method="POST")
    ref = await teams.file()
    await teams.settle()
    [card] = await teams.cards_for("dana")  # delivered once, after the retries
    assert ref in json.dumps(card)
    assert teams.token.token_requests == 1  # msal cached the token across every call


async def test_a_teams_user_is_found_by_the_email_teams_reports(teams: TeamsHarness) -> None:
    # Lee has no Teams id in the policy, only an email; Teams' roster reports it.
    lee = TeamsUser.make("Lee Park", "lee@acme.example")
    teams.connector.add_profile(lee.id, email="lee@acme.example", name="Lee Park")
    ref = await teams.file()
    await teams.settle()
    data = buttons_of((await teams.cards_for("dana"))[0])[actions.APPROVE]

    answered = await _press(teams, lee, actions.APPROVE, data)

    assert buttons_of(answered) == {}
    details = await teams.details(ref)
    assert [(d.person, d.platform) for d in details.decisions] == [("lee", "teams")]


async def test_a_mention_in_a_command_names_the_person(teams: TeamsHarness) -> None:
    ref = await teams.file()
    await teams.settle()
    # Dana hands her step to Maria by @mentioning her; the bot's own mention is ignored.
    bot = {"id": teams.activities.bot_id, "name": "Procurement Exceptions"}
    text = f"<at>Procurement Exceptions</at> reassign {ref} <at>Maria Finance</at> out this week"
    activity = teams.activities.message(DANA, text)
    activity["entities"] = [
        {"type": "mention", "text": "<at>Procurement Exceptions</at>", "mentioned": bot},
        {
            "type": "mention",
            "text": "<at>Maria Finance</at>",
            "mentioned": {"id": MARIA.id, "name": "Maria Finance"},
        },
    ]
    assert (await teams.send(activity))[0] == 200
    await teams.settle()

    open_step = (await teams.details(ref)).open_step
    assert open_step is not None
    assert open_step.approvers == ("lee", "maria")  # dana's part went to maria


@pytest.mark.parametrize(
    "data",
    [
        {"verb": "exc_self_destruct", "case": 1},
        {"verb": actions.APPROVE},
        {"verb": "", "case": "x"},
    ],
)
async def test_unknown_or_malformed_card_actions_are_dropped(
    teams: TeamsHarness, data: dict[str, Any]
) -> None:
    fields = {k: v for k, v in data.items() if k != "verb"}
    activity = teams.activities.invoke(RITA, verb=str(data["verb"]), data=fields)
    status, body = await teams.send(activity)
    assert status == 200
    assert "not known" in json.dumps(_card_of(body))
    async with teams.services.db.reading() as conn:
        assert (await audit.verify(conn)).count == 0  # nothing was recorded

"""Request info pauses the step until the requester answers (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers.clock import ManualClock
from handlers.commands import Answer, Comment, Decide
from handlers.context import Services
from handlers.deciding import answer_question, decide
from handlers.errors import Conflict, NotAllowed, RationaleRequired
from handlers.lifecycle import comment
from handlers.queries import case_details
from handlers.sweep import sweep
from storage.records import Action, StepStatus
from tests.handlers.conftest import file, outbox_rows, person


async def test_a_question_pauses_the_step_and_tells_the_requester_how_to_answer(
    services: Services,
) -> None:
    case = (await file(services)).case
    with pytest.raises(RationaleRequired):
        await decide(services, person("lee"), Decide(case.id, Action.REQUEST_INFO))

    result = await decide(
        services, person("lee"), Decide(case.id, Action.REQUEST_INFO, "Which PO?")
    )

    assert "waits for the answer" in result.message
    details = await case_details(services, case.id)
    step = details.steps[0]
    assert step.status is StepStatus.INFO_REQUESTED
    assert step.next_action_at is None  # the sweep leaves it alone: no reminders, no timeout
    assert details.history[-1].action == "case.info_requested"
    rows = await outbox_rows(services.db)
    notes = [(who, text) for kind, who, text in rows if kind == "notify"]
    assert len(notes) == 1
    assert notes[0][0] == "rita"
    assert notes[0][1] is not None
    assert "Lee Park needs more information on EXC-000001" in notes[0][1]
    assert "/exception answer EXC-000001" in notes[0][1]
    assert ("post_card", "rita", None) in rows  # the requester's card carries Answer


async def test_while_paused_no_reminder_or_timeout_falls_due(
    late: Services, clock: ManualClock
) -> None:
    case = (await file(late, details={"route": "pair"})).case
    await decide(late, person("lee"), Decide(case.id, Action.REQUEST_INFO, "Which PO?"))

    clock.advance(timedelta(days=3))
    report = await sweep(late, "sweeper")

    assert report.claimed == 0
    assert (await case_details(late, case.id)).steps[0].status is StepStatus.INFO_REQUESTED


async def test_a_comment_does_not_reopen_the_step_an_answer_does(
    services: Services, clock: ManualClock
) -> None:
    case = (await file(services)).case
    await decide(services, person("lee"), Decide(case.id, Action.REQUEST_INFO, "Which PO?"))
    await comment(services, person("rita"), Comment(case.id, "looking it up"))
    assert (await case_details(services, case.id)).steps[0].status is StepStatus.INFO_REQUESTED

    clock.advance(timedelta(hours=2))
    before = len(await outbox_rows(services.db))
    answered = await answer_question(services, person("rita"), Answer(case.id, "PO-88812"))

    assert "went to the approvers" in answered.message
    details = await case_details(services, case.id)
    step = details.steps[0]
    assert step.status is StepStatus.OPEN
    assert step.clock_started_at == clock.now()
    assert step.due_at == clock.now() + timedelta(hours=4)  # the tier's SLA, afresh
    assert details.history[-1].action == "case.info_answered"
    new = (await outbox_rows(services.db))[before:]
    assert {who for kind, who, _ in new if kind == "notify"} == {"lee", "dana"}
    assert ("update_cards", None, None) in new
    # and the approvers may decide again
    await decide(services, person("dana"), Decide(case.id, Action.APPROVE))


async def test_only_the_requester_answers_and_only_an_open_question(services: Services) -> None:
    case = (await file(services)).case
    with pytest.raises(Conflict, match="Nobody is waiting for an answer"):
        await answer_question(services, person("rita"), Answer(case.id, "early"))
    await decide(services, person("lee"), Decide(case.id, Action.REQUEST_INFO, "Which PO?"))

    with pytest.raises(NotAllowed, match="Only the person who filed"):
        await answer_question(services, person("dana"), Answer(case.id, "PO-1"))
    details = await case_details(services, case.id)
    assert details.history[-1].action == "case.answer.refused"
    assert details.steps[0].status is StepStatus.INFO_REQUESTED

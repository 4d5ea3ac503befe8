"""Deciding through the handler and a real database: what is stored and audited. Who may
decide what (N-of-M, `all`, delegates, segregation of duties) is the case model's, tested
pure in tests/policy/test_sod.py, test_case_questions.py and test_case_transitions.py."""

from __future__ import annotations

import pytest

from handlers.commands import Decide
from handlers.context import Services
from handlers.deciding import decide
from handlers.errors import Conflict, NotAllowed, NotFound, RationaleRequired
from handlers.queries import case_details
from storage import outbox
from storage.outbox import MessageKind
from storage.records import Action, CaseStatus, StepStatus
from tests.handlers.conftest import counts, file, person


async def approve(svc: Services, who: str, case_id: int, why: str | None = None) -> str:
    result = await decide(svc, person(who), Decide(case_id, Action.APPROVE, why))
    return result.message


async def test_approvals_walk_the_route_to_the_end(services: Services) -> None:
    case = (await file(services, amount=30000.0)).case

    assert "moves on to finance-director" in await approve(services, "lee", case.id, "needed")
    details = await case_details(services, case.id)
    assert [s.status for s in details.steps] == [StepStatus.APPROVED, StepStatus.OPEN]
    assert details.steps[1].approvers == ("maria",)

    assert "now approved" in await approve(services, "maria", case.id, "within budget")
    details = await case_details(services, case.id)
    assert details.case.status is CaseStatus.APPROVED
    assert [(d.person, d.rationale) for d in details.decisions] == [
        ("lee", "needed"),
        ("maria", "within budget"),
    ]
    async with services.db.reading() as conn:
        notes = [
            m for m in await outbox.due(conn, services.clock.now()) if m.kind is MessageKind.NOTIFY
        ]
    assert [n.recipient for n in notes] == ["rita"]
    assert notes[0].text is not None
    assert "approved" in notes[0].text


async def test_policy_can_demand_a_rationale_to_approve(services: Services) -> None:
    case = (await file(services, amount=30000.0)).case
    before = await counts(services.db)

    with pytest.raises(RationaleRequired):
        await approve(services, "lee", case.id, "   ")
    assert await counts(services.db) == before


async def test_rejection_needs_a_rationale_and_ends_the_case(services: Services) -> None:
    case = (await file(services, amount=30000.0)).case
    with pytest.raises(RationaleRequired):
        await decide(services, person("dana"), Decide(case.id, Action.REJECT))

    await decide(services, person("dana"), Decide(case.id, Action.REJECT, "duplicate order"))

    details = await case_details(services, case.id)
    assert details.case.status is CaseStatus.REJECTED
    assert [s.status for s in details.steps] == [StepStatus.REJECTED, StepStatus.CANCELLED]


async def test_the_requester_cannot_decide_their_own_case(services: Services) -> None:
    case = (await file(services, by="lee")).case  # lee is an AP lead, so dana alone is asked
    details = await case_details(services, case.id)
    assert details.steps[0].approvers == ("dana",)

    with pytest.raises(NotAllowed) as refused:
        await approve(services, "lee", case.id)

    assert "segregation of duties" in refused.value.message
    details = await case_details(services, case.id)
    assert details.decisions == []
    assert details.history[-1].action == "decision.refused"
    assert details.history[-1].actor == "lee"


async def test_someone_not_assigned_is_refused_and_the_refusal_audited(services: Services) -> None:
    case = (await file(services)).case
    with pytest.raises(NotAllowed) as refused:
        await approve(services, "carl", case.id)
    assert "not an approver" in refused.value.message
    assert (await case_details(services, case.id)).history[-1].action == "decision.refused"


async def test_a_stale_card_cannot_decide_a_later_step(services: Services) -> None:
    case = (await file(services, amount=30000.0)).case
    first_step = (await case_details(services, case.id)).steps[0].id
    await approve(services, "lee", case.id, "ok")

    with pytest.raises(Conflict) as conflict:
        await decide(services, person("dana"), Decide(case.id, Action.APPROVE, "ok", first_step))

    assert "already approved by Lee Park" in conflict.value.message


async def test_a_final_case_says_who_decided_it(services: Services) -> None:
    case = (await file(services)).case
    await approve(services, "dana", case.id)

    with pytest.raises(Conflict) as conflict:
        await approve(services, "lee", case.id)
    assert "already approved: Dana Reyes approved it" in conflict.value.message


async def test_unknown_case_is_not_found(services: Services) -> None:
    with pytest.raises(NotFound):
        await approve(services, "lee", 4242)


@pytest.mark.parametrize("case_id", [0, -1, 2**31, 10**12])
async def test_a_case_id_no_database_column_can_hold_is_not_found(
    services: Services, case_id: int
) -> None:
    with pytest.raises(NotFound):
        await approve(services, "lee", case_id)

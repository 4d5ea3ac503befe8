from __future__ import annotations

import pytest

from handlers.commands import Comment, Decide, Revoke, Withdraw
from handlers.context import Services
from handlers.deciding import decide
from handlers.errors import Conflict, InvalidRequest, NotAllowed
from handlers.lifecycle import comment, revoke, withdraw
from handlers.queries import case_details, may_view, pending_approvals, requests_of
from storage import outbox
from storage.outbox import MessageKind
from storage.records import Action, CaseStatus, StepStatus
from tests.handlers.conftest import file, person


async def test_the_requester_withdraws_a_pending_case(services: Services) -> None:
    case = (await file(services, amount=30000.0)).case

    result = await withdraw(services, person("rita"), Withdraw(case.id, "bought elsewhere"))

    assert result.case.status is CaseStatus.WITHDRAWN
    details = await case_details(services, case.id)
    assert {s.status for s in details.steps} == {StepStatus.CANCELLED}
    assert (details.history[-1].action, details.history[-1].rationale) == (
        "case.withdrawn",
        "bought elsewhere",
    )
    assert await pending_approvals(services, "lee") == []


async def test_only_the_requester_withdraws(services: Services) -> None:
    case = (await file(services)).case
    with pytest.raises(NotAllowed):
        await withdraw(services, person("lee"), Withdraw(case.id))
    details = await case_details(services, case.id)
    assert details.case.status is CaseStatus.PENDING
    assert details.history[-1].action == "case.withdraw.refused"


async def test_a_decided_case_cannot_be_withdrawn(services: Services) -> None:
    case = (await file(services)).case
    await decide(services, person("lee"), Decide(case.id, Action.APPROVE))
    with pytest.raises(Conflict):
        await withdraw(services, person("rita"), Withdraw(case.id))


async def test_an_admin_revokes_a_decided_case_with_a_reason(services: Services) -> None:
    case = (await file(services)).case
    await decide(services, person("lee"), Decide(case.id, Action.APPROVE))
    with pytest.raises(InvalidRequest):
        await revoke(services, person("ada"), Revoke(case.id, "  "))

    result = await revoke(services, person("ada"), Revoke(case.id, "supplier under investigation"))

    assert result.case.status is CaseStatus.REVOKED
    details = await case_details(services, case.id)
    # Revoking never erases: the approval is still there, and the history says both.
    assert [d.action for d in details.decisions] == [Action.APPROVE]
    assert [e.action for e in details.history][-3:] == [
        "decision.approved",
        "case.approved",
        "case.revoked",
    ]
    async with services.db.reading() as conn:
        notes = [
            m for m in await outbox.due(conn, services.clock.now()) if m.kind is MessageKind.NOTIFY
        ]
    assert notes[-1].recipient == "rita"


async def test_only_admins_revoke_and_only_decided_cases(services: Services) -> None:
    case = (await file(services)).case
    with pytest.raises(Conflict):
        await revoke(services, person("ada"), Revoke(case.id, "too early"))
    await decide(services, person("lee"), Decide(case.id, Action.APPROVE))
    with pytest.raises(NotAllowed):
        await revoke(services, person("maria"), Revoke(case.id, "not an admin"))
    assert (await case_details(services, case.id)).case.status is CaseStatus.APPROVED


async def test_comments_reach_the_other_side(services: Services) -> None:
    case = (await file(services)).case
    await comment(services, person("rita"), Comment(case.id, "PO-88812 is the one"))
    await comment(services, person("lee"), Comment(case.id, "thanks"))
    with pytest.raises(NotAllowed):
        await comment(services, person("carl"), Comment(case.id, "drive-by"))

    async with services.db.reading() as conn:
        notes = [
            m for m in await outbox.due(conn, services.clock.now()) if m.kind is MessageKind.NOTIFY
        ]
    assert [n.recipient for n in notes] == ["lee", "dana", "rita"]


async def test_queues_and_visibility(services: Services) -> None:
    case = (await file(services)).case
    assert [d.case.id for d in await pending_approvals(services, "dana")] == [case.id]
    assert [c.id for c in await requests_of(services, "rita")] == [case.id]
    details = await case_details(services, case.id)
    visible = {p for p in services.policy.people if may_view(services.policy, p, details)}
    assert visible == {"rita", "lee", "dana", "ada", "aud"}

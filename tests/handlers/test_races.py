"""Simultaneous presses, on real SQLite and PostgreSQL: exactly one wins where one may."""

from __future__ import annotations

import asyncio

from handlers.commands import Decide
from handlers.context import Services
from handlers.deciding import DecisionResult, decide
from handlers.errors import Conflict, DomainError, NotAllowed
from handlers.queries import case_details
from storage import audit
from storage.records import Action, CaseStatus
from tests.handlers.conftest import file, person


async def _press(svc: Services, who: str, case_id: int) -> DecisionResult | DomainError:
    try:
        return await decide(svc, person(who), Decide(case_id, Action.APPROVE, f"{who} says yes"))
    except DomainError as error:
        return error


async def test_two_approvers_at_once_exactly_one_wins(services: Services) -> None:
    case = (await file(services)).case  # category-lead, mode any: lee or dana

    results = await asyncio.gather(
        _press(services, "lee", case.id), _press(services, "dana", case.id)
    )

    winners = [r for r in results if isinstance(r, DecisionResult)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1
    assert len(losers) == 1
    details = await case_details(services, case.id)
    assert details.case.status is CaseStatus.APPROVED
    assert len(details.decisions) == 1
    winner = "Lee Park" if details.decisions[0].person == "lee" else "Dana Reyes"
    assert f"{winner} approved it" in losers[0].message
    async with services.db.reading() as conn:
        assert (await audit.verify(conn)).ok


async def test_the_same_person_clicking_twice_votes_once(services: Services) -> None:
    case = (await file(services, details={"route": "dual"})).case  # needs 2 approvals

    results = await asyncio.gather(*[_press(services, "lee", case.id) for _ in range(2)])

    assert sum(isinstance(r, DecisionResult) for r in results) == 1
    assert sum(isinstance(r, NotAllowed) for r in results) == 1
    assert len((await case_details(services, case.id)).decisions) == 1


async def test_simultaneous_votes_that_may_all_count_all_count(services: Services) -> None:
    case = (await file(services, details={"route": "all"})).case  # lee and dana, mode all

    results = await asyncio.gather(
        _press(services, "lee", case.id), _press(services, "dana", case.id)
    )

    assert all(isinstance(r, DecisionResult) for r in results)
    details = await case_details(services, case.id)
    assert details.case.status is CaseStatus.APPROVED
    assert sorted(d.person for d in details.decisions) == ["dana", "lee"]

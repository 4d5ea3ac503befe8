"""Away, back and reassign (policy tests/data/policy.yaml): delegation keeps work moving and
segregation of duties holds; bad input is refused and changes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from handlers.absence import come_back, go_away, reassign
from handlers.commands import ComeBack, Decide, GoAway, Reassign
from handlers.context import Services
from handlers.deciding import decide
from handlers.errors import Conflict, DomainError, InvalidRequest, NotAllowed, NotFound
from handlers.queries import case_details
from storage.records import Action, CaseStatus
from storage.tables import absences, assignments
from tests.conftest import START
from tests.handlers.conftest import count, counts, file, outbox_rows, person

NEXT_WEEK = date(2026, 3, 9)  # START is Monday 2 March 2026, 09:00 UTC


async def approvers(svc: Services, case_id: int, position: int = 1) -> tuple[str, ...]:
    return (await case_details(svc, case_id)).steps[position - 1].approvers


async def snapshot(svc: Services) -> dict[str, Any]:
    async with svc.db.reading() as conn:
        rows = (await conn.execute(select(assignments).order_by("step_id", "person"))).all()
    return {
        **await counts(svc.db),
        "absences": await count(svc.db, absences),
        "assignments": [tuple(row) for row in rows],
    }


async def test_away_hands_open_steps_to_the_delegate_and_new_ones_follow(
    services: Services,
) -> None:
    first = (await file(services)).case
    assert await approvers(services, first.id) == ("lee", "dana")
    seen = len(await outbox_rows(services.db))

    result = await go_away(services, person("lee"), GoAway(NEXT_WEEK, "sam"))

    assert result.message == (
        "You are away until the end of 2026-03-09 (UTC). New approvals for you go to Sam "
        "Stand-in. Handed over: EXC-000001 (to Sam Stand-in)."
    )
    assert await approvers(services, first.id) == ("sam", "dana")
    rows = await outbox_rows(services.db)
    # Existing cards are updated before the new one is posted, so sam sees his card once.
    assert [(kind, who) for kind, who, _ in rows[seen:]] == [
        ("update_cards", None),
        ("post_card", "sam"),
        ("notify", "sam"),
        ("notify", "rita"),
    ]
    assert rows[seen + 2][2] == (
        "EXC-000001 (Laptops from a new reseller) is yours to decide now, in place of Lee Park "
        "(category-lead). Lee Park is away until the end of 2026-03-09 (UTC)."
    )
    details = await case_details(services, first.id)
    reassigned = details.history[-1]
    assert (reassigned.action, reassigned.actor, reassigned.data) == (
        "step.reassigned",
        "lee",
        {"tier": "category-lead", "from": ["lee"], "to": ["sam"]},
    )

    second = (await file(services)).case  # while lee is away
    assert await approvers(services, second.id) == ("sam", "dana")
    await decide(services, person("sam"), Decide(first.id, Action.APPROVE, "fine"))
    assert (await case_details(services, first.id)).case.status is CaseStatus.APPROVED

    services.clock.set(START + timedelta(days=8))  # type: ignore[attr-defined]
    third = (await file(services)).case  # the absence has run out
    assert await approvers(services, third.id) == ("lee", "dana")


async def test_a_delegate_who_filed_the_case_is_passed_over(services: Services) -> None:
    case = (await file(services)).case  # rita filed it

    result = await go_away(services, person("lee"), GoAway(NEXT_WEEK, "rita"))

    assert "EXC-000001 (to Maria Finance)" in result.message  # the tier's backup
    assert await approvers(services, case.id) == ("maria", "dana")
    later = (await file(services, title="Another order")).case
    assert await approvers(services, later.id) == ("dana",)  # lee's share skipped; dana suffices


async def test_a_delegate_who_decided_another_step_is_passed_over(services: Services) -> None:
    case = (await file(services, amount=30000.0)).case  # category-lead, then finance-director
    await decide(services, person("dana"), Decide(case.id, Action.APPROVE, "needed"))
    assert await approvers(services, case.id, 2) == ("maria",)

    await go_away(services, person("maria"), GoAway(NEXT_WEEK, "dana"))

    assert await approvers(services, case.id, 2) == ("carl",)  # finance-director's backup
    with pytest.raises(NotAllowed):
        await decide(services, person("dana"), Decide(case.id, Action.APPROVE, "again"))


async def test_a_step_nobody_else_may_take_stays(services: Services) -> None:
    case = (await file(services, by="carl", details={"route": "stand-in"})).case
    assert await approvers(services, case.id) == ("sam",)  # vic's standing delegate

    result = await go_away(services, person("sam"), GoAway(NEXT_WEEK, "carl"))

    assert result.kept == ("EXC-000001",)
    assert "Kept, as nobody else may decide them: EXC-000001." in result.message
    assert await approvers(services, case.id) == ("sam",)


async def test_without_a_named_delegate_the_policy_s_is_used(services: Services) -> None:
    result = await go_away(services, person("vic"), GoAway(NEXT_WEEK))
    assert "New approvals for you go to Sam Stand-in." in result.message

    with pytest.raises(InvalidRequest, match="name who takes your approvals"):
        await go_away(services, person("lee"), GoAway(NEXT_WEEK))


async def test_back_ends_the_absence_early(services: Services) -> None:
    await go_away(services, person("lee"), GoAway(NEXT_WEEK, "sam"))

    result = await come_back(services, person("lee"), ComeBack())

    assert result.message.startswith("Welcome back")
    case = (await file(services)).case
    assert await approvers(services, case.id) == ("lee", "dana")
    again = await come_back(services, person("lee"), ComeBack())
    assert again.message == "You were not marked away; nothing changed."


@pytest.mark.parametrize(
    ("who", "command", "error", "message"),
    [
        ("lee", GoAway(NEXT_WEEK, "nobody"), NotFound, "There is nobody called 'nobody'"),
        ("lee", GoAway(date(2026, 3, 1), "sam"), InvalidRequest, "2026-03-01 is in the past"),
        ("lee", GoAway(date(2027, 6, 1), "sam"), InvalidRequest, "more than a year ahead"),
        ("lee", GoAway(NEXT_WEEK, "lee@acme.example"), InvalidRequest, "your own delegate"),
        ("dana", GoAway(NEXT_WEEK, "lee"), Conflict, "Lee Park is away too (back 2026-03-10)"),
    ],
)
async def test_bad_away_commands_change_nothing(
    services: Services, who: str, command: GoAway, error: type[DomainError], message: str
) -> None:
    await file(services)
    await go_away(services, person("lee"), GoAway(NEXT_WEEK, "sam"))
    before = await snapshot(services)

    with pytest.raises(error) as refused:
        await go_away(services, person(who), command)

    assert message in refused.value.message
    assert await snapshot(services) == before


async def test_today_is_a_valid_last_day(services: Services) -> None:
    result = await go_away(services, person("lee"), GoAway(date(2026, 3, 2), "sam"))
    assert "until the end of 2026-03-02" in result.message


async def test_reassign_hands_the_step_on_with_the_reason(services: Services) -> None:
    case = (await file(services)).case

    result = await reassign(services, person("lee"), Reassign(case.id, "carl", "knows the vendor"))

    assert result.message == "EXC-000001 (category-lead) is now with Carl Chief."
    assert await approvers(services, case.id) == ("carl", "dana")
    details = await case_details(services, case.id)
    assert (details.history[-1].action, details.history[-1].rationale) == (
        "step.reassigned",
        "knows the vendor",
    )
    await decide(services, person("carl"), Decide(case.id, Action.APPROVE, "ok"))
    assert (await case_details(services, case.id)).case.status is CaseStatus.APPROVED


@pytest.mark.parametrize(
    ("who", "to", "reason", "error", "message"),
    [
        ("maria", "carl", "busy", NotAllowed, "EXC-000001 is not waiting for you"),
        ("lee", "nobody", "busy", NotFound, "There is nobody called 'nobody'"),
        ("lee", "rita", "busy", NotAllowed, "Rita Requester filed EXC-000001"),
        ("lee", "dana", "busy", Conflict, "Dana Reyes is already an approver"),
        ("lee", "lee", "busy", InvalidRequest, "the step is already yours"),
        ("lee", "sam", "busy", Conflict, "Sam Stand-in is away (back 2026-03-10)"),
        ("lee", "carl", "   ", InvalidRequest, "say why you hand the step on"),
    ],
)
async def test_bad_reassignments_change_nothing(
    services: Services, who: str, to: str, reason: str, error: type[DomainError], message: str
) -> None:
    case = (await file(services)).case
    await go_away(services, person("sam"), GoAway(NEXT_WEEK, "carl"))
    before = await snapshot(services)

    with pytest.raises(error) as refused:
        await reassign(services, person(who), Reassign(case.id, to, reason))

    assert message in refused.value.message
    assert await snapshot(services) == before


async def test_reassigning_an_unknown_or_closed_case_is_refused(services: Services) -> None:
    with pytest.raises(NotFound, match="There is no exception EXC-000042"):
        await reassign(services, person("lee"), Reassign(42, "carl", "busy"))
    case = (await file(services)).case
    await decide(services, person("dana"), Decide(case.id, Action.APPROVE, "ok"))
    with pytest.raises(Conflict, match="is approved; there is no step to hand on"):
        await reassign(services, person("lee"), Reassign(case.id, "carl", "busy"))


async def test_segregation_of_duties_holds_for_reassignment(services: Services) -> None:
    case = (await file(services, amount=30000.0)).case
    await decide(services, person("lee"), Decide(case.id, Action.APPROVE, "needed"))
    with pytest.raises(NotAllowed, match="Lee Park already decided a step"):
        await reassign(services, person("maria"), Reassign(case.id, "lee", "she knows"))

    dual = (await file(services, details={"route": "dual"})).case
    await decide(services, person("dana"), Decide(dual.id, Action.APPROVE, "ok"))
    with pytest.raises(NotAllowed, match="You already voted"):
        await reassign(services, person("dana"), Reassign(dual.id, "carl", "away"))


async def test_an_admin_moves_an_approvers_place_with_a_reason(services: Services) -> None:
    case = (await file(services)).case  # category-lead waits for lee and dana
    seen = len(await outbox_rows(services.db))

    result = await reassign(
        services, person("ada"), Reassign(case.id, "carl", "Lee is on leave", place="lee")
    )

    assert result.message == "EXC-000001 (category-lead) is now with Carl Chief."
    assert await approvers(services, case.id) == ("carl", "dana")
    moved = (await case_details(services, case.id)).history[-1]
    assert (moved.action, moved.actor, moved.rationale, moved.data["from"], moved.data["to"]) == (
        "step.reassigned",
        "ada",
        "Lee is on leave",
        ["lee"],
        ["carl"],
    )
    told = {who: text for kind, who, text in (await outbox_rows(services.db))[seen:] if text}
    assert told["lee"] == (
        "Ada Admin moved your category-lead step of EXC-000001 (Laptops from a new reseller) to "
        "Carl Chief. Lee is on leave."
    )
    assert "is yours to decide now" in told["carl"]


async def test_an_admin_names_whose_place_when_several_are_awaited(services: Services) -> None:
    case = (await file(services)).case
    before = await snapshot(services)
    with pytest.raises(NotAllowed, match="say whose place moves"):
        await reassign(services, person("ada"), Reassign(case.id, "carl", "rebalancing"))
    with pytest.raises(NotAllowed, match="Carl Chief is not an approver"):
        await reassign(services, person("ada"), Reassign(case.id, "sam", "x", place="carl"))
    with pytest.raises(InvalidRequest, match="already Lee Park's"):
        await reassign(services, person("ada"), Reassign(case.id, "lee", "x", place="lee"))
    assert await snapshot(services) == before


async def test_moving_someone_elses_place_needs_an_admin_and_the_refusal_is_audited(
    services: Services,
) -> None:
    case = (await file(services)).case
    before = await counts(services.db)

    with pytest.raises(NotAllowed, match="Only a policy admin can move someone else's place"):
        await reassign(services, person("dana"), Reassign(case.id, "carl", "mine now", place="lee"))

    assert await approvers(services, case.id) == ("lee", "dana")
    after = await counts(services.db)
    assert after == before | {"audit": before["audit"] + 1}
    refused = (await case_details(services, case.id)).history[-1]
    assert (refused.action, refused.actor) == ("step.reassign.refused", "dana")

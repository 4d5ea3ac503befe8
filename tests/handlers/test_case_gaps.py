"""What the case model made consistent, end to end through the handlers and a real database:
votes on shared steps, top-ups, `all` tiers, outcome messages, what the card says policy did
not do, the case's own SLA, hand-overs and revocations (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.card_views import build_card_view
from bot.chat_commands import ListMyApprovals
from bot.conversation import run_command
from handlers.absence import reassign
from handlers.clock import ManualClock
from handlers.commands import Decide, Reassign, Revoke
from handlers.context import Services
from handlers.deciding import decide
from handlers.errors import NotAllowed
from handlers.lifecycle import revoke
from handlers.queries import case_details, pending_approvals
from storage.records import Action, CaseStatus, StepStatus
from tests.handlers.conftest import file, outbox_rows, person


async def test_a_voter_on_a_shared_step_loses_the_buttons_and_the_queue_entry(
    services: Services,
) -> None:
    case = (await file(services, details={"route": "dual"})).case  # 2 of lee, dana, maria
    assert (
        "waiting for Dana Reyes and Maria Finance, 1 of 2 approvals"
        in (await decide(services, person("lee"), Decide(case.id, Action.APPROVE))).message
    )

    details = await case_details(services, case.id)
    lee_card = build_card_view(services.policy, details, "lee")
    assert lee_card.buttons == ()
    assert lee_card.notice is not None
    assert lee_card.notice.startswith("You approved this step at")
    assert lee_card.route[0].summary.startswith(
        "waiting for Dana Reyes and Maria Finance, 1 of 2 approvals"
    )
    assert build_card_view(services.policy, details, "dana").buttons != ()
    assert [d.case.id for d in await pending_approvals(services, "lee")] == []
    assert [d.case.id for d in await pending_approvals(services, "dana")] == [case.id]


async def test_a_tier_emptied_by_segregation_of_duties_is_topped_up_and_told(
    services: Services,
) -> None:
    # dual-control (2 of lee, dana, maria), then finance-director (maria; backup carl)
    case = (await file(services, details={"route": "dual"})).case
    await decide(services, person("lee"), Decide(case.id, Action.APPROVE))
    seen = len(await outbox_rows(services.db))
    await decide(services, person("maria"), Decide(case.id, Action.APPROVE))

    details = await case_details(services, case.id)
    assert details.steps[1].status is StepStatus.OPEN
    assert details.steps[1].approvers == ("carl",)  # maria decided dual-control: her backup
    assert ("post_card", "carl", None) in (await outbox_rows(services.db))[seen:]


async def test_an_all_tier_keeps_its_number_when_a_member_filed_the_case(
    services: Services,
) -> None:
    case = (await file(services, by="lee", details={"route": "all"})).case  # all of lee, dana

    step = (await case_details(services, case.id)).steps[0]
    # lee's place goes to the requester's manager: two distinct approvals, as the tier says
    assert (step.approvers, step.required) == (("dana", "maria"), 2)
    await decide(services, person("dana"), Decide(case.id, Action.APPROVE))
    assert (await case_details(services, case.id)).case.status is CaseStatus.PENDING


async def test_the_outcome_message_and_the_final_card_carry_the_rationale(
    services: Services,
) -> None:
    case = (await file(services)).case
    await decide(
        services, person("lee"), Decide(case.id, Action.REJECT, "use the framework supplier")
    )

    notes = [text for kind, who, text in await outbox_rows(services.db) if who == "rita"]
    assert notes[-1] is not None
    assert "was rejected by Lee Park: use the framework supplier." in notes[-1]
    card = build_card_view(services.policy, await case_details(services, case.id), "rita")
    assert card.decision == "Rejected by Lee Park: use the framework supplier"


async def test_the_card_says_what_policy_did_not_do(services: Services) -> None:
    # within-tolerance would approve, but high-value cannot be evaluated without an amount
    withheld = (
        await file(services, code="PRICE_MISMATCH", amount=None, details={"variance_pct": 1.0})
    ).case
    card = build_card_view(services.policy, await case_details(services, withheld.id), "lee")
    assert card.policy_notes[0].startswith("Auto-approval withheld")
    assert any(
        note.startswith("Skipped: Procurement Policy 4.2, ") and "amount" in note
        for note in card.policy_notes
    )

    plain = (await file(services)).case  # nothing fires: the default route
    card = build_card_view(services.policy, await case_details(services, plain.id), "lee")
    assert card.policy_notes == ("No rule fired: routed by the policy's default route.",)


async def test_the_taxonomy_owner_and_the_case_sla_show_and_overdue_is_marked(
    services: Services, clock: ManualClock
) -> None:
    case = (await file(services, code="PRICE_MISMATCH", details={"variance_pct": 5.0})).case
    details = await case_details(services, case.id)
    assert details.case.due_at == clock.now() + timedelta(days=1)  # PRICE_MISMATCH: sla 1d
    card = build_card_view(services.policy, details, "lee", clock.now())
    assert (card.owner, card.case_due, card.overdue) == ("Lee Park", "2026-03-03 09:00 UTC", False)

    clock.advance(timedelta(days=1, minutes=1))
    card = build_card_view(services.policy, details, "lee", clock.now())
    assert card.overdue
    reply = await run_command(services, person("lee"), ListMyApprovals())
    assert reply.text == "1 waiting for your approval (1 overdue):"
    assert reply.cards[0].overdue


async def test_a_reassignment_sends_the_card_once_and_reads_plainly(services: Services) -> None:
    case = (await file(services)).case
    seen = len(await outbox_rows(services.db))
    await reassign(services, person("dana"), Reassign(case.id, "carl", "I am at a trade fair"))

    new = (await outbox_rows(services.db))[seen:]
    assert [kind for kind, who, _ in new if who == "carl"] == ["post_card", "notify"]
    # the other cards are updated before carl's is posted, so his is not updated right after
    kinds = [kind for kind, _, _ in new]
    assert kinds.index("update_cards") < kinds.index("post_card")
    card = build_card_view(services.policy, await case_details(services, case.id), "carl")
    assert any(
        "Dana Reyes handed category-lead to Carl Chief: I am at a trade fair" in h.text
        for h in card.history
    )


async def test_an_admin_may_not_revoke_a_case_they_decided(services: Services) -> None:
    case = (await file(services)).case
    await reassign(services, person("dana"), Reassign(case.id, "ada", "Ada covers AP this week"))
    await decide(services, person("ada"), Decide(case.id, Action.APPROVE))

    with pytest.raises(NotAllowed, match="another admin must revoke it"):
        await revoke(services, person("ada"), Revoke(case.id, "changed my mind"))
    details = await case_details(services, case.id)
    assert details.case.status is CaseStatus.APPROVED
    assert details.history[-1].action == "case.revoke.refused"

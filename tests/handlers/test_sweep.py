"""The overdue sweep with the clock moved: the whole ladder, timeouts, races and crashes.

The policy is tests/data/overdue.yaml: `leads` (lee, dana; 4h SLA, a reminder every hour,
escalation after 2, then reroute to the backup ben and up the chain maria -> carl -> olga),
and one tier per other `on_timeout`. Filed at 09:00 on a Monday (tests.conftest.START).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.card_views import build_card_view
from handlers.clock import ManualClock
from handlers.commands import Decide
from handlers.context import Services
from handlers.deciding import decide
from handlers.errors import NotAllowed, RationaleRequired
from handlers.queries import case_details, may_view, pending_approvals
from handlers.sweep import DEFAULT_LEASE, Outcome, SweepReport, process_claim, sweep
from policy.loader import parse_policy
from storage import audit, overdue
from storage.records import Action, CaseStatus, StepStatus
from tests.conftest import START
from tests.handlers.conftest import OVERDUE_POLICY, file, outbox_rows, person

NOTIFY, POST_CARD, UPDATE_CARDS = "notify", "post_card", "update_cards"


async def at(svc: Services, hours: float, owner: str = "sweeper") -> SweepReport:
    """Move the clock to `hours` after 09:00 Monday and sweep."""
    assert isinstance(svc.clock, ManualClock)
    svc.clock.set(START + timedelta(hours=hours))
    return await sweep(svc, owner)


async def actions(svc: Services, case_id: int) -> list[str]:
    details = await case_details(svc, case_id)
    return [e.action for e in details.history]


async def new_rows(svc: Services, seen: int) -> list[tuple[str, str | None, str | None]]:
    return (await outbox_rows(svc.db))[seen:]


async def test_reminders_escalation_and_reroutes_up_the_chain(late: Services) -> None:
    case = (await file(late)).case
    filed = len(await outbox_rows(late.db))

    assert (await at(late, 0.5)).claimed == 0
    report = await at(late, 1)
    assert report.count(Outcome.REMINDED) == 1
    rows = await new_rows(late, filed)
    assert [(kind, who) for kind, who, _ in rows] == [
        (NOTIFY, "lee"),
        (NOTIFY, "dana"),
        (UPDATE_CARDS, None),
    ]
    assert rows[0][2] == (
        "Reminder: EXC-000001 (Laptops from a new reseller) is waiting for your decision at "
        "leads, due 2026-03-02 13:00 UTC. Type /approvals to see it."
    )
    assert (await at(late, 1)).claimed == 0  # a second sweep (or a restart) repeats nothing

    assert (await at(late, 2)).count(Outcome.REMINDED) == 1
    seen = len(await outbox_rows(late.db))
    assert (await at(late, 3)).count(Outcome.ESCALATED) == 1
    rows = await new_rows(late, seen)
    assert (POST_CARD, "maria", None) in rows
    assert {who for kind, who, _ in rows if kind == NOTIFY} == {"maria", "lee", "dana", "rita"}
    to_maria = next(text for kind, who, text in rows if kind == NOTIFY and who == "maria")
    assert to_maria is not None
    assert "Lee Park and Dana Reyes (leads) have not decided after 2 reminders" in to_maria
    assert "on their behalf; a rationale is required" in to_maria

    seen = len(await outbox_rows(late.db))
    assert (await at(late, 4)).count(Outcome.REROUTED) == 1  # the SLA: to the backup
    rows = await new_rows(late, seen)
    assert (POST_CARD, "ben", None) in rows
    assert (
        NOTIFY,
        "rita",
        "EXC-000001 (Laptops from a new reseller) was rerouted to Ben Backup: Lee Park and "
        "Dana Reyes did not decide within the 4h SLA of leads.",
    ) in rows
    details = await case_details(late, case.id)
    step = details.steps[0]
    assert step.approvers == ("ben",)
    assert (step.due_at, step.reminders_sent, step.timeout_level) == (
        START + timedelta(hours=8),
        0,
        1,
    )

    # Each further SLA: one level up the chain (ben -> carl -> olga), then the admins.
    for hour in range(5, 13):
        await at(late, hour)
    assert (await case_details(late, case.id)).steps[0].approvers == ("olga",)
    for hour in (13, 14, 15):
        await at(late, hour)  # 15:00: olga has no manager to escalate to, so a reminder
    assert "no manager above them" in (await case_details(late, case.id)).history[-1].data["note"]
    await at(late, 16)
    assert (await case_details(late, case.id)).steps[0].approvers == ("ada",)
    await at(late, 20)
    details = await case_details(late, case.id)
    assert details.steps[0].approvers == ("ada",)  # nobody further: it stays, and says so
    assert details.history[-1].action == "step.timed_out"
    assert "nobody further up may decide it" in (details.history[-1].rationale or "")
    assert details.steps[0].due_at == START + timedelta(hours=24)  # and tries again later

    history = [a for a in await actions(late, case.id) if a.startswith("step.")]
    assert history[:6] == [
        "step.opened",
        "step.reminded",
        "step.reminded",
        "step.escalated",
        "step.rerouted",
        "step.reminded",
    ]
    assert history.count("step.rerouted") == 4
    async with late.db.reading() as conn:
        assert (await audit.verify(conn)).ok


async def test_the_manager_decides_on_behalf_of_the_approver_once_escalated(
    late: Services,
) -> None:
    case = (await file(late)).case
    with pytest.raises(NotAllowed):
        await decide(late, person("maria"), Decide(case.id, Action.APPROVE, "I know this one"))
    assert await pending_approvals(late, "maria") == []
    for hour in (1, 2, 3):
        await at(late, hour)
    (queued,) = await pending_approvals(late, "maria")  # her queue shows it now
    assert queued.case.id == case.id
    assert may_view(late.policy, "maria", queued)
    assert not may_view(late.policy, "carl", queued)

    card = build_card_view(late.policy, await case_details(late, case.id), "maria")
    assert [b.label for b in card.buttons] == ["Approve", "Reject", "Request info"]
    assert card.notice is not None
    assert "as the manager of Lee Park" in card.notice
    with pytest.raises(RationaleRequired, match="on behalf of Lee Park as their manager"):
        await decide(late, person("maria"), Decide(case.id, Action.APPROVE))
    result = await decide(
        late, person("maria"), Decide(case.id, Action.APPROVE, "Supplier vetted; urgent need")
    )

    assert result.case.status is CaseStatus.APPROVED
    details = await case_details(late, case.id)
    (vote,) = details.decisions
    assert (vote.person, vote.on_behalf_of, vote.rationale) == (
        "maria",
        "lee",
        "Supplier vetted; urgent need",
    )
    approved = next(e for e in details.history if e.action == "decision.approved")
    assert approved.data == {
        "tier": "leads",
        "on_behalf_of": "lee",
        "as_manager": True,
        "case_hash": details.case.request_hash,  # what the manager approved
    }
    rita = build_card_view(late.policy, details, "rita")
    assert any("on behalf of Lee Park" in line.text for line in rita.history)
    assert (await at(late, 4)).claimed == 0  # nothing left to do


async def test_cards_carry_the_escalation_history_and_mark_the_rerouted(late: Services) -> None:
    case = (await file(late)).case
    for hour in (1, 2, 3, 4):
        await at(late, hour)
    details = await case_details(late, case.id)

    lee = build_card_view(late.policy, details, "lee")
    assert [line.text for line in lee.escalations] == [
        "reminder 1 to Lee Park and Dana Reyes",
        "reminder 2 to Lee Park and Dana Reyes",
        "leads overdue: escalated to Maria Finance, who may decide for Lee Park and Dana Reyes",
        "leads rerouted to Ben Backup: Lee Park and Dana Reyes did not decide within the 4h "
        "SLA of leads.",
    ]
    assert lee.buttons == ()
    assert lee.notice == "This step is now with Ben Backup; you need not decide it."
    assert any("rerouted to Ben Backup" in line.text for line in lee.history)
    ben = build_card_view(late.policy, details, "ben")
    assert ben.escalations == lee.escalations
    assert [b.label for b in ben.buttons] == ["Approve", "Reject", "Request info"]
    assert ben.due == "2026-03-02 17:00 UTC"


async def test_a_reroute_never_goes_to_the_requester(late: Services) -> None:
    case = (await file(late, by="ben")).case  # ben, the backup, filed it
    await at(late, 4)
    assert (await case_details(late, case.id)).steps[0].approvers == ("maria",)


async def test_a_reroute_keeps_the_votes_already_in(late: Services) -> None:
    case = (await file(late, details={"route": "pair"})).case  # 2 of lee, dana, sam; 2h SLA
    await decide(late, person("lee"), Decide(case.id, Action.APPROVE, "fine"))
    await at(late, 2)
    step = (await case_details(late, case.id)).steps[0]
    assert step.approvers == ("maria", "carl")  # the managers of dana and sam
    assert step.required == 2  # lee's approval counts; one more is needed

    with pytest.raises(NotAllowed):  # lee cannot vote twice
        await decide(late, person("lee"), Decide(case.id, Action.APPROVE, "again"))
    await decide(late, person("carl"), Decide(case.id, Action.APPROVE, "ok"))
    assert (await case_details(late, case.id)).case.status is CaseStatus.APPROVED


async def test_on_timeout_approve_is_a_decision_by_policy(late: Services) -> None:
    case = (await file(late, details={"route": "approve"})).case  # approve-late, then director
    assert (await at(late, 1)).count(Outcome.REMINDED) == 1
    seen = len(await outbox_rows(late.db))
    assert (await at(late, 2)).count(Outcome.TIMED_OUT) == 1

    details = await case_details(late, case.id)
    assert [s.status for s in details.steps] == [StepStatus.APPROVED, StepStatus.OPEN]
    assert details.steps[1].approvers == ("maria",)
    (vote,) = details.decisions
    reason = "No decision within the 2h SLA of approve-late: the policy approves on timeout."
    assert (vote.person, vote.action, vote.rationale, vote.platform) == (
        "system:scheduler",
        Action.APPROVE,
        reason,
        "system",
    )
    rows = await new_rows(late, seen)
    assert (POST_CARD, "maria", None) in rows
    assert (
        NOTIFY,
        "rita",
        f"EXC-000001 (Laptops from a new reseller): {reason} It moves on to director "
        "(Maria Finance).",
    ) in rows
    assert (await actions(late, case.id))[-4:] == [
        "step.timed_out",
        "decision.approved",
        "step.approved",
        "step.opened",
    ]
    card = build_card_view(late.policy, details, "rita")
    assert card.route[0].summary.startswith("approved by the approvals bot")


async def test_on_timeout_reject_rejects_the_case(late: Services) -> None:
    case = (await file(late, details={"route": "reject"})).case  # 2h SLA, no reminders
    assert (await at(late, 1)).claimed == 0
    seen = len(await outbox_rows(late.db))
    await at(late, 2)

    details = await case_details(late, case.id)
    assert details.case.status is CaseStatus.REJECTED
    assert details.decisions[0].person == "system:scheduler"
    assert (
        NOTIFY,
        "rita",
        "EXC-000001 (Laptops from a new reseller) was rejected by the approvals bot: No "
        "decision within the 2h SLA of reject-late: the policy rejects on timeout.",
    ) in await new_rows(late, seen)


async def test_on_timeout_expire_closes_the_case_as_expired(late: Services) -> None:
    case = (await file(late, details={"route": "lapse"})).case
    seen = len(await outbox_rows(late.db))
    await at(late, 2)

    details = await case_details(late, case.id)
    assert details.case.status is CaseStatus.EXPIRED
    assert details.steps[0].status is StepStatus.EXPIRED  # not "cancelled": it ran out
    assert details.decisions == []
    rows = await new_rows(late, seen)
    assert (UPDATE_CARDS, None, None) in rows
    assert (
        NOTIFY,
        "rita",
        "EXC-000001 (Laptops from a new reseller) expired. No decision within the 2h SLA of "
        "lapse: the policy lets it expire.",
    ) in rows
    card = build_card_view(late.policy, details, "lee")
    assert card.status == "expired"
    assert card.escalations[-1].text.startswith("lapse timed out: No decision within")
    assert (await at(late, 3)).claimed == 0


async def test_a_step_decided_after_it_was_claimed_is_left_alone(late: Services) -> None:
    case = (await file(late)).case
    late.clock.set(START + timedelta(hours=1))  # type: ignore[attr-defined]
    async with late.db.transaction() as conn:
        (claimed,) = await overdue.claim_due_steps(
            conn, late.clock.now(), "slow", DEFAULT_LEASE, 10
        )
    await decide(late, person("dana"), Decide(case.id, Action.APPROVE, "ok"))

    assert await process_claim(late, "slow", claimed) is Outcome.SKIPPED
    assert "step.reminded" not in await actions(late, case.id)


async def test_two_sweepers_racing_send_each_reminder_exactly_once(late: Services) -> None:
    cases = [(await file(late, title=f"Case {i}")).case for i in range(12)]
    before = await outbox_rows(late.db)
    late.clock.set(START + timedelta(hours=1))  # type: ignore[attr-defined]

    async def sweeper(owner: str) -> int:
        done = 0
        while (report := await sweep(late, owner, limit=3)).claimed:
            done += report.count(Outcome.REMINDED)
        return done

    done = await asyncio.gather(sweeper("replica-a"), sweeper("replica-b"))

    assert sum(done) == len(cases)
    reminders = [row for row in (await outbox_rows(late.db))[len(before) :] if row[0] == NOTIFY]
    assert len(reminders) == 2 * len(cases)  # lee and dana, once per case
    assert len(set(reminders)) == len(reminders)
    for case in cases:
        details = await case_details(late, case.id)
        assert details.steps[0].reminders_sent == 1
        assert [e.action for e in details.history].count("step.reminded") == 1
    async with late.db.reading() as conn:
        assert (await audit.verify(conn)).ok


async def test_a_killed_sweeper_s_claims_are_taken_over_after_the_lease(late: Services) -> None:
    cases = [(await file(late, title=f"Case {i}")).case for i in range(3)]
    late.clock.set(START + timedelta(hours=1))  # type: ignore[attr-defined]
    async with late.db.transaction() as conn:
        claimed = await overdue.claim_due_steps(conn, late.clock.now(), "killed", DEFAULT_LEASE, 10)
    assert len(claimed) == 3  # ... and then it dies without processing them

    assert (await sweep(late, "survivor")).claimed == 0  # still under the dead one's lease
    late.clock.advance(DEFAULT_LEASE)  # type: ignore[attr-defined]
    report = await sweep(late, "survivor")
    assert report.count(Outcome.REMINDED) == 3

    # The "dead" sweeper was only stalled: it resumes, finds its claims gone, sends nothing.
    outcomes = [await process_claim(late, "killed", item) for item in claimed]
    assert outcomes == [Outcome.SKIPPED] * 3
    for case in cases:
        assert (await actions(late, case.id)).count("step.reminded") == 1


CALENDAR = """\
calendar:
  timezone: Europe/Berlin
  days: [mon, tue, wed, thu, fri]
  hours: "08:00-18:00"
"""


async def test_with_business_hours_nothing_is_sent_at_night_or_at_the_weekend(
    late: Services,
) -> None:
    late.policy = parse_policy(OVERDUE_POLICY.read_text() + CALENDAR, "overdue+calendar")
    friday_4pm_berlin = timedelta(days=4, hours=6)  # Friday 6 March, 15:00 UTC = 16:00 Berlin
    late.clock.set(START + friday_4pm_berlin)  # type: ignore[attr-defined]
    case = (await file(late)).case
    step = (await case_details(late, case.id)).steps[0]
    assert step.due_at == START + timedelta(days=7)  # Monday 9 March, 10:00 Berlin
    assert step.next_action_at == START + timedelta(days=4, hours=7)  # Friday 17:00 Berlin

    hours_after_filing = [1, 2, 2.5, 10, 24, 48, 63.5, 64, 65, 66]
    outcomes = []
    for hours in hours_after_filing:
        late.clock.set(START + friday_4pm_berlin + timedelta(hours=hours))  # type: ignore[attr-defined]
        report = await sweep(late, "sweeper")
        outcomes.append(next(iter(report.outcomes), None))
    assert outcomes == [
        Outcome.REMINDED,  # Friday 17:00
        Outcome.WAITED,  # Friday 18:00, closing time: the tick waits for Monday
        None,
        None,  # Friday night,
        None,  # Saturday,
        None,  # Sunday
        None,  # Monday 07:30
        Outcome.REMINDED,  # Monday 08:00
        Outcome.ESCALATED,  # Monday 09:00
        Outcome.REROUTED,  # Monday 10:00: the SLA, counted in business hours
    ]
    events = (await case_details(late, case.id)).history
    assert "of business time" in (events[-1].rationale or "")

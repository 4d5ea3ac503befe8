"""The plan of an open step (pure): ticks, escalation, timeout; who gets it when it is late."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

import pytest

from policy.calendar import Calendar
from policy.case import Permission, Verdict
from policy.lifecycle import Action
from policy.model import ApprovalMode, OnTimeout, Role, Tier
from policy.overdue import Due, after_waiting, opening_schedule, what_is_due
from policy.routing import escalation_managers, reroute_targets, staff_tier
from tests.policy.cases import FILED, case, step, vote
from tests.policy.helpers import build_policy, person

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TIER = Tier(
    "leads",
    ("lee", "dana"),
    ApprovalMode.any(),
    sla=timedelta(hours=4),
    remind_every=HOUR,
    escalate_after=2,
    on_timeout=OnTimeout.ESCALATE,
    backup=("ben",),
)
UTC_OFFICE = Calendar("UTC", frozenset(range(5)), time(8), time(18))

# rita, lee, dana -> maria -> carl -> olga; ben (backup) -> carl; ada is an admin.
PEOPLE = [
    person("olga"),
    person("carl", manager="olga"),
    person("maria", manager="carl"),
    person("rita", manager="maria"),
    person("lee", manager="maria"),
    person("dana", manager="maria"),
    person("ben", manager="carl"),
    person("sam", manager="carl"),
    person("ada", roles=frozenset({Role.ADMIN})),
]
POLICY = build_policy(PEOPLE, (TIER,))


def due(now: datetime, *, reminders: int = 0, escalated: bool = False) -> Due:
    schedule = opening_schedule(TIER, None, MONDAY_9)
    return what_is_due(
        TIER,
        None,
        now,
        due_at=schedule.due_at,
        reminders_sent=reminders,
        escalated=escalated,
    )


def test_a_step_opens_with_its_sla_and_first_tick() -> None:
    schedule = opening_schedule(TIER, None, MONDAY_9)
    assert schedule.due_at == MONDAY_9 + 4 * HOUR
    assert schedule.next_action_at == MONDAY_9 + HOUR
    quiet = dataclasses.replace(TIER, remind_every=None, escalate_after=None)
    assert opening_schedule(quiet, None, MONDAY_9).next_action_at == MONDAY_9 + 4 * HOUR


def test_reminders_then_escalation_then_reminders_then_timeout() -> None:
    assert due(MONDAY_9 + HOUR) is Due.REMIND
    assert due(MONDAY_9 + 2 * HOUR, reminders=1) is Due.REMIND
    assert due(MONDAY_9 + 3 * HOUR, reminders=2) is Due.ESCALATE
    assert due(MONDAY_9 + 3 * HOUR, reminders=2, escalated=True) is Due.REMIND
    assert due(MONDAY_9 + 4 * HOUR, reminders=2, escalated=True) is Due.TIMEOUT


def test_without_reminders_only_the_timeout_is_due() -> None:
    quiet = dataclasses.replace(TIER, remind_every=None, escalate_after=None)
    deadline = MONDAY_9 + 4 * HOUR
    for now, expected in ((MONDAY_9 + HOUR, Due.NOTHING), (deadline, Due.TIMEOUT)):
        state = what_is_due(quiet, None, now, due_at=deadline, reminders_sent=0, escalated=False)
        assert state is expected


def test_a_tick_outside_business_hours_waits_for_the_next_opening() -> None:
    friday_evening = datetime(2026, 3, 6, 18, 30, tzinfo=UTC)
    due_monday = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    state = what_is_due(
        TIER, UTC_OFFICE, friday_evening, due_at=due_monday, reminders_sent=0, escalated=False
    )
    assert state is Due.WAIT
    assert after_waiting(UTC_OFFICE, friday_evening, due_monday) == datetime(
        2026, 3, 9, 8, 0, tzinfo=UTC
    )


def test_with_a_calendar_the_schedule_counts_business_hours() -> None:
    friday_4pm = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    schedule = opening_schedule(TIER, UTC_OFFICE, friday_4pm)
    assert schedule.due_at == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    assert schedule.next_action_at == friday_4pm + HOUR


# --- escalation ----------------------------------------------------------------------------


def test_escalation_goes_to_each_approvers_nearest_eligible_manager() -> None:
    assert escalation_managers(POLICY, ("lee", "dana"), frozenset({"rita"})) == ("maria",)
    # maria may not decide (say she decided another step): her manager is asked instead.
    assert escalation_managers(POLICY, ("lee",), frozenset({"rita", "maria"})) == ("carl",)
    # a manager who is an approver of the step already is passed over
    assert escalation_managers(POLICY, ("lee", "maria"), frozenset()) == ("carl",)
    assert escalation_managers(POLICY, ("olga",), frozenset()) == ()


def manager(
    actor: str, *, escalated: bool = True, voted: tuple[str, ...] = (), requester: str = "rita"
) -> Permission:
    """`actor` approving an open two-approval step of lee and dana."""
    votes = [vote(1, who, vote_id=n) for n, who in enumerate(voted, 1)]
    open_step = step(
        1,
        ("lee", "dana"),
        mode="count",
        required=2,
        escalated_at=FILED + HOUR if escalated else None,
    )
    return case(open_step, votes=votes, requester=requester).may_act(POLICY, actor, Action.APPROVE)


def test_the_manager_of_an_escalated_step_decides_on_behalf_with_a_rationale() -> None:
    permission = manager("maria")
    assert (permission.verdict, permission.on_behalf_of, permission.as_manager) == (
        Verdict.ALLOWED,
        "lee",
        True,
    )
    assert permission.rationale_prompt is not None
    assert "on behalf of Lee Test as their manager" in permission.rationale_prompt
    # lee voted already (a two-approval tier): maria acts for dana
    assert manager("maria", voted=("lee",)).on_behalf_of == "dana"


def test_before_escalation_or_further_up_a_manager_may_not() -> None:
    assert not manager("maria", escalated=False).allowed
    assert not manager("carl").allowed  # not the manager the step escalated to
    assert not manager("maria", voted=("lee", "dana", "maria")).allowed


def test_a_manager_who_filed_the_case_is_never_allowed() -> None:
    assert not manager("maria", requester="maria").allowed


# --- reroutes ------------------------------------------------------------------------------


def reroute(
    level: int,
    current: tuple[str, ...] = ("lee", "dana"),
    *,
    requester: str = "rita",
    barred: frozenset[str] = frozenset(),
    needed: int = 1,
    away: dict[str, str] | None = None,
    tier: Tier = TIER,
) -> tuple[str, ...]:
    return reroute_targets(
        POLICY,
        tier,
        requester=requester,
        current=current,
        level=level,
        barred=barred,
        needed=needed,
        away=away or {},
    )


def test_the_first_timeout_goes_to_the_backup_then_up_the_chain() -> None:
    assert reroute(1) == ("ben",)
    assert reroute(2, ("ben",)) == ("carl",)
    assert reroute(3, ("carl",)) == ("olga",)
    assert reroute(4, ("olga",)) == ("ada",)  # the top of the chain: the policy's admins
    assert reroute(5, ("ada",)) == ()  # nobody left


def test_a_tier_without_backup_goes_to_the_approvers_managers() -> None:
    assert reroute(1, tier=dataclasses.replace(TIER, backup=())) == ("maria",)


def test_a_reroute_never_goes_to_the_requester_or_a_decider_of_another_step() -> None:
    assert reroute(1, requester="ben") == ("maria",)  # the backup filed it: their managers
    assert reroute(1, barred=frozenset({"ben", "maria"})) == ("carl",)  # climbs past maria


def test_a_reroute_finds_as_many_people_as_still_needed() -> None:
    assert reroute(1, needed=2) == ("ben", "maria")


def test_someone_away_is_replaced_by_their_delegate() -> None:
    assert reroute(1, away={"ben": "sam"}) == ("sam",)
    # ... unless the delegate may not decide
    assert reroute(1, away={"ben": "rita"}) == ("maria",)


def test_routing_gives_an_absent_approver_s_share_to_their_delegate() -> None:
    away = {"lee": "sam"}
    assert staff_tier(TIER, POLICY, "rita", away=away).approvers == ("sam", "dana")
    # a delegate who filed the request is passed over; dana alone is enough for "any"
    assert staff_tier(TIER, POLICY, "rita", away={"lee": "rita"}).approvers == ("dana",)
    # both gone: the backup tops the tier up
    both = {"lee": "rita", "dana": "rita"}
    assert staff_tier(TIER, POLICY, "rita", away=both).approvers == ("ben",)


@pytest.mark.parametrize("level", [1, 2])
def test_nobody_already_on_the_step_is_rerouted_to(level: int) -> None:
    assert "ben" not in reroute(level, ("ben", "lee"))

"""The transitions of a case (pure): votes, staffing the next step, questions and answers,
the overdue sweep, and the version every change moves on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from policy.actor import Actor
from policy.case import Case, Verdict
from policy.case_changes import answer, comment, end_by_person, hand_over, request_info
from policy.case_draft import Change
from policy.case_flow import cast_vote, settle_by_policy
from policy.case_overdue import overdue
from policy.case_records import StepRecord
from policy.effects import MessageKind, OutgoingMessage
from policy.lifecycle import Action, AuditKind, CaseStatus, StepStatus
from policy.model import ApprovalMode, OnTimeout, Person, Policy, Role, Tier
from tests.policy.cases import FILED, case, step, vote
from tests.policy.helpers import build_policy, person, tier

ADMIN = frozenset({Role.ADMIN})
HOUR = timedelta(hours=1)
NOW = FILED + HOUR
MANAGERS = {"rita": "mike", "mike": "mo", "lee": "lou", "lou": "maya", "sam": "maya"}
STAFF = ("rita", "mike", "mo", "lee", "lou", "sam", "ann", "dan", "bob", "maya")
PEOPLE = [*(person(p, manager=MANAGERS.get(p)) for p in STAFF), person("ada", roles=ADMIN)]


def ladder(*tiers: Tier, people: list[Person] | None = None) -> Policy:
    return build_policy(people or PEOPLE, tiers)


def paced(t: Tier, **changes: object) -> Tier:
    """`t` with a reminder every hour (and whatever else `changes` says)."""
    return replace(t, remind_every=HOUR, **changes)  # type: ignore[arg-type]


POLICY = ladder(
    paced(tier("review", ("lee", "sam", "ann"), ApprovalMode.of(2))),
    tier("finance", ("lee", "sam", "dan", "bob"), ApprovalMode.of(2)),
)


def act(
    policy: Policy, c: Case, who: str, action: Action = Action.APPROVE, why: str | None = None
) -> Change:
    """`who` votes on the current step, as `Case.may_act` lets them."""
    permission = c.may_act(policy, who, action)
    assert permission.allowed, permission.reason
    return cast_vote(policy, c, Actor(who, "console"), action, why, permission, NOW)


def review(*voters: str, version: int = 1) -> Case:
    """A 2-of-3 review step voted on by `voters`, then finance waiting."""
    votes = [vote(1, who, vote_id=n) for n, who in enumerate(voters, 1)]
    first = step(1, ("lee", "sam", "ann"), tier="review", mode="count", required=2)
    second = step(2, (), tier="finance", status=StepStatus.WAITING, mode="count", required=2)
    return case(first, second, votes=votes, version=version)


def kinds(change: Change) -> list[AuditKind]:
    return [e.action for e in change.events]


def sent(change: Change, kind: MessageKind) -> list[str | None]:
    return [m.recipient for m in change.messages if m.kind is kind]


def text_to(change: Change, recipient: str) -> str:
    notes = (m for m in change.messages if m.kind is MessageKind.NOTIFY)
    return "\n".join(m.text or "" for m in notes if m.recipient == recipient)


def the_event(change: Change, kind: AuditKind) -> dict[str, Any]:
    [found] = [e for e in change.events if e.action is kind]
    return dict(found.data)


def opened(change: Change) -> tuple[StepRecord, list[str]]:
    """The case's current step after `change`, and the approvers its STEP_OPENED event names."""
    current = change.case.current_step
    assert current is not None
    return current, the_event(change, AuditKind.STEP_OPENED)["approvers"]


# --- votes --------------------------------------------------------------------------------


def test_a_first_approval_of_two_leaves_the_step_open_and_updates_the_cards() -> None:
    change = act(POLICY, review(), "lee")
    first = change.case.steps[0]
    assert first.status is StepStatus.OPEN
    assert change.case.awaited(first) == ("sam", "ann")
    assert change.case.still_needed(first) == 1
    assert change.messages == (OutgoingMessage(MessageKind.UPDATE_CARDS, 1),)
    assert kinds(change) == [AuditKind.DECISION_APPROVED]
    assert change.note == (
        "You approved EXC-000001. review is waiting for Sam Test and Ann Test, 1 of 2 approvals."
    )


def test_the_second_approval_opens_the_next_step_without_anyone_who_decided() -> None:
    change = act(POLICY, review("lee"), "sam")
    first = change.case.steps[0]
    second, named = opened(change)
    assert (first.status, first.closed_at) == (StepStatus.APPROVED, NOW)
    assert (second.id, second.status, second.approvers) == (2, StepStatus.OPEN, ("dan", "bob"))
    assert second.required == 2
    assert (second.opened_at, second.clock_started_at, second.due_at) == (NOW, NOW, NOW + 4 * HOUR)
    opening = [AuditKind.DECISION_APPROVED, AuditKind.STEP_APPROVED, AuditKind.STEP_OPENED]
    assert kinds(change) == opening
    assert named == ["dan", "bob"]
    assert sent(change, MessageKind.POST_CARD) == ["dan", "bob"]
    assert change.case.status is CaseStatus.PENDING


def staffed_after(deciders: tuple[str, ...], policy: Policy) -> Change:
    """Steps 1..n decided one each by `deciders` (the last one now), then `finance` opens."""
    *earlier, last = deciders
    steps = [step(n, (who,), status=StepStatus.APPROVED) for n, who in enumerate(earlier, 1)]
    steps.append(step(len(deciders), (last,)))
    steps.append(step(len(deciders) + 1, (), tier="finance", status=StepStatus.WAITING))
    votes = [vote(n, who, vote_id=n) for n, who in enumerate(earlier, 1)]
    return act(policy, case(*steps, votes=votes), last)


TOP_UP = ladder(tier("finance", ("lee",), backup=("bob",)))


@pytest.mark.parametrize(
    ("deciders", "approvers"),
    [
        (("sam",), ("lee",)),
        (("lee",), ("bob",)),  # the backup
        (("lee", "bob"), ("mike",)),  # then the requester's manager
        (("lee", "bob", "mike"), ("mo",)),  # and theirs
        (("lee", "bob", "mike", "mo"), ("ada",)),  # then the admins
    ],
)
def test_a_tier_whose_members_are_barred_is_topped_up_in_order(
    deciders: tuple[str, ...], approvers: tuple[str, ...]
) -> None:
    change = staffed_after(deciders, TOP_UP)
    finance, named = opened(change)
    assert (finance.tier, finance.approvers, named) == ("finance", approvers, list(approvers))
    assert sent(change, MessageKind.POST_CARD) == list(approvers)
    assert AuditKind.STEP_UNSTAFFED not in kinds(change)


def test_when_nobody_may_decide_the_step_opens_unstaffed_and_people_are_told() -> None:
    change = staffed_after(("lee", "bob", "mike", "mo", "ada"), TOP_UP)
    finance, named = opened(change)
    assert (finance.tier, finance.status) == ("finance", StepStatus.OPEN)
    assert (finance.approvers, named) == ((), [])
    assert AuditKind.STEP_UNSTAFFED in kinds(change)
    assert sent(change, MessageKind.POST_CARD) == []
    assert sent(change, MessageKind.NOTIFY) == ["rita", "ada"]
    assert "/approvals reassign EXC-000001" in text_to(change, "rita")
    assert text_to(change, "ada") == text_to(change, "rita")


@pytest.mark.parametrize(
    ("board", "approvers"),
    [
        (tier("finance", ("lee", "sam"), ApprovalMode.all(), backup=("bob",)), ("sam", "bob")),
        (tier("finance", ("lee", "sam"), ApprovalMode.all()), ("sam", "mike")),
    ],
)
def test_an_all_tier_replaces_a_barred_member_and_keeps_its_count(
    board: Tier, approvers: tuple[str, ...]
) -> None:
    finance, _ = opened(change := staffed_after(("lee",), ladder(board)))
    assert (finance.approvers, finance.required) == (approvers, 2)
    assert AuditKind.STEP_SHORT_STAFFED not in kinds(change)
    assert sent(change, MessageKind.NOTIFY) == []


def test_an_all_tier_short_of_people_says_so_and_tells_the_admins() -> None:
    people = [person("rita"), person("lee"), person("sam"), person("ada", roles=ADMIN)]
    policy = ladder(tier("finance", ("lee", "sam"), ApprovalMode.all()), people=people)
    finance, _ = opened(change := staffed_after(("ada", "lee"), policy))
    assert (finance.approvers, finance.required) == (("sam",), 1)
    short = the_event(change, AuditKind.STEP_SHORT_STAFFED)
    assert (short["wanted"], short["required"]) == (2, 1)
    assert sent(change, MessageKind.NOTIFY) == ["ada"]
    assert text_to(change, "ada") == (
        "EXC-000001 (Laptops): finance asks for 2 approvals but only 1 person may decide it "
        "(Sam Test), so it needs 1."
    )


def test_a_rejection_ends_the_case_and_tells_the_requester_why() -> None:
    first = step(1, ("dan",), status=StepStatus.APPROVED)
    second = step(2, ("lee",))
    third = step(3, ("sam",), status=StepStatus.WAITING)
    c = case(first, second, third, votes=[vote(1, "dan")])
    change = act(POLICY, c, "lee", Action.REJECT, "use the framework supplier.")
    assert change.case.status is CaseStatus.REJECTED
    assert change.case.record.closed_at == NOW
    ended = [StepStatus.APPROVED, StepStatus.REJECTED, StepStatus.CANCELLED]
    assert [s.status for s in change.case.steps] == ended
    assert change.case.current_step is None
    assert AuditKind.CASE_REJECTED in kinds(change)
    assert sent(change, MessageKind.NOTIFY) == ["rita"]
    assert text_to(change, "rita") == (
        "EXC-000001 (Laptops) was rejected by Lee Test: use the framework supplier."
    )


# --- questions and answers ----------------------------------------------------------------


def test_a_request_for_information_pauses_the_step_and_asks_the_requester() -> None:
    c = case(step(1, ("lee", "sam"), tier="review", next_action_at=FILED + HOUR))
    change = request_info(POLICY, c, Actor("lee", "console"), "Which supplier?", NOW)
    paused = change.case.steps[0]
    assert paused.status is StepStatus.INFO_REQUESTED
    assert paused.next_action_at is None
    assert change.case.current_step == paused
    assert "Which supplier?" in text_to(change, "rita")
    assert "/exception answer EXC-000001" in text_to(change, "rita")
    assert sent(change, MessageKind.POST_CARD) == ["rita"]
    assert change.case.may_answer("rita").allowed


def test_an_answer_reopens_the_step_with_a_fresh_clock() -> None:
    asked = StepStatus.INFO_REQUESTED
    paused = step(1, ("lee", "sam", "ann"), tier="review", mode="count", required=2, status=asked)
    c = case(replace(paused, reminders_sent=2, escalated_at=NOW), votes=[vote(1, "lee")])
    later = FILED + 3 * HOUR
    change = answer(POLICY, c, Actor("rita", "console"), "Dell, via the reseller", later)
    reopened = change.case.steps[0]
    assert reopened.status is StepStatus.OPEN
    assert (reopened.clock_started_at, reopened.due_at) == (later, later + 4 * HOUR)
    assert reopened.next_action_at == later + HOUR
    assert (reopened.reminders_sent, reopened.escalated_at) == (0, None)
    assert sent(change, MessageKind.NOTIFY) == ["sam", "ann"]
    assert AuditKind.INFO_ANSWERED in kinds(change)


def test_a_comment_reaches_the_awaited_approvers_and_never_reopens_a_paused_step() -> None:
    paused = step(1, ("lee", "sam"), status=StepStatus.INFO_REQUESTED)
    c = case(paused, votes=[vote(1, "lee")])
    change = comment(POLICY, c, Actor("rita", "console"), "Here is the quote.", NOW)
    assert change.case.steps[0].status is StepStatus.INFO_REQUESTED
    assert sent(change, MessageKind.NOTIFY) == ["sam"]
    back = comment(POLICY, c, Actor("sam", "console"), "Thanks.", NOW)
    assert sent(back, MessageKind.NOTIFY) == ["rita"]


def test_a_hand_over_puts_the_new_person_in_the_old_one_s_place() -> None:
    c = review("sam")
    assert c.may_hand_over(POLICY, "lee", "dan").allowed
    change = hand_over(POLICY, c, Actor("lee", "console"), c.steps[0], "lee", "dan", "Away", NOW)
    handed = change.case.steps[0]
    assert handed.approvers == ("dan", "sam", "ann")
    assert change.case.awaited(handed) == ("dan", "ann")
    assert the_event(change, AuditKind.STEP_REASSIGNED)["to"] == ["dan"]
    assert sent(change, MessageKind.POST_CARD) == ["dan"]
    assert sent(change, MessageKind.NOTIFY) == ["dan", "rita"]
    assert change.case.may_act(POLICY, "dan", Action.APPROVE).allowed
    assert not change.case.may_act(POLICY, "lee", Action.APPROVE).allowed


# --- the overdue sweep --------------------------------------------------------------------

SWEEP = ladder(
    paced(tier("review", ("lee",), backup=("sam", "lee", "bob"))),
    paced(tier("board", ("sam",)), escalate_after=1),
    paced(tier("expiring", ("lee",)), on_timeout=OnTimeout.EXPIRE),
    paced(tier("lenient", ("lee",)), on_timeout=OnTimeout.APPROVE),
)
DUE = FILED + 4 * HOUR


def at(hour: int, minute: int = 0) -> datetime:
    return FILED.replace(hour=hour, minute=minute)


def sweep(policy: Policy, opened: Case, now: datetime) -> Change:
    current = opened.current_step
    assert current is not None
    return overdue(policy, opened, current, now)


@pytest.mark.parametrize(
    ("started", "now", "wakes"),
    [
        (at(9), at(10, 20), at(11)),  # a late sweep does not push the next reminder later
        (at(9), at(11, 59), at(12)),
        (at(9, 30), at(10, 45), at(11, 30)),  # counted from the clock start, not the opening
    ],
)
def test_reminders_fall_due_on_the_step_s_own_clock(
    started: datetime, now: datetime, wakes: datetime
) -> None:
    waiting = step(1, ("lee",), tier="review", clock_started_at=started, due_at=started + 4 * HOUR)
    change = sweep(SWEEP, case(waiting), now)
    reminded = change.case.steps[0]
    assert (reminded.reminders_sent, reminded.next_action_at) == (1, wakes)
    assert kinds(change) == [AuditKind.STEP_REMINDED]
    assert sent(change, MessageKind.NOTIFY) == ["lee"]


def test_an_escalation_goes_to_the_manager_and_keeps_the_clock() -> None:
    waiting = step(1, ("sam",), tier="board", reminders_sent=1)
    change = sweep(SWEEP, case(waiting), at(11, 20))
    escalated = change.case.steps[0]
    assert (escalated.escalated_at, escalated.next_action_at) == (at(11, 20), at(12))
    assert kinds(change) == [AuditKind.STEP_ESCALATED]
    assert sent(change, MessageKind.POST_CARD) == ["maya"]
    assert sent(change, MessageKind.NOTIFY) == ["maya", "sam", "rita"]
    assert change.case.may_act(SWEEP, "maya", Action.APPROVE).as_manager


@pytest.mark.parametrize(
    ("level", "former", "targets"),
    [
        (0, ("sam",), ("bob",)),  # the backup, but not the one who had it nor who has it
        (1, ("lou",), ("maya",)),  # up lee's chain, past lou who let it time out
    ],
)
def test_a_reroute_never_returns_to_former_or_current_approvers(
    level: int, former: tuple[str, ...], targets: tuple[str, ...]
) -> None:
    waiting = step(1, ("lee",), tier="review", timeout_level=level, former_approvers=former)
    change = sweep(SWEEP, case(waiting), DUE)
    rerouted = change.case.steps[0]
    assert rerouted.approvers == targets
    assert rerouted.former_approvers == (*former, "lee")
    assert rerouted.timeout_level == level + 1
    assert (rerouted.clock_started_at, rerouted.due_at) == (DUE, DUE + 4 * HOUR)
    assert (rerouted.reminders_sent, rerouted.required) == (0, 1)
    event = the_event(change, AuditKind.STEP_REROUTED)
    assert (event["from"], event["to"]) == (["lee"], list(targets))
    assert sent(change, MessageKind.POST_CARD) == list(targets)
    assert change.case.may_receive(SWEEP, rerouted, "lee").verdict is Verdict.REFUSED


NOBODY = ladder(paced(tier("solo", ("lee",))), people=[person("rita", roles=ADMIN), person("lee")])


def test_a_reroute_that_finds_nobody_keeps_the_step_and_restarts_its_clock() -> None:
    change = sweep(NOBODY, case(step(1, ("lee",), tier="solo")), DUE)
    stays = change.case.steps[0]
    assert (stays.approvers, stays.former_approvers, stays.timeout_level) == (("lee",), (), 1)
    assert (stays.clock_started_at, stays.next_action_at) == (DUE, DUE + HOUR)
    [event] = change.events
    assert (event.action, event.data["rerouted"]) == (AuditKind.STEP_TIMED_OUT, False)
    assert sent(change, MessageKind.NOTIFY) == ["rita"]


def test_an_expired_case_marks_its_open_step_expired_and_cancels_the_rest() -> None:
    waiting = step(2, (), tier="review", status=StepStatus.WAITING)
    change = sweep(SWEEP, case(step(1, ("lee",), tier="expiring"), waiting), DUE)
    assert change.case.status is CaseStatus.EXPIRED
    assert [s.status for s in change.case.steps] == [StepStatus.EXPIRED, StepStatus.CANCELLED]
    assert kinds(change) == [AuditKind.STEP_TIMED_OUT, AuditKind.CASE_EXPIRED]
    assert "expired" in text_to(change, "rita")


def test_a_timeout_that_approves_decides_by_policy_and_moves_on() -> None:
    waiting = step(2, ("x",), tier="review", status=StepStatus.WAITING)
    change = sweep(SWEEP, case(step(1, ("lee",), tier="lenient"), waiting), DUE)
    first, second = change.case.steps
    assert first.status is StepStatus.APPROVED
    assert (second.status, second.approvers) == (StepStatus.OPEN, ("lee",))
    assert change.case.votes[-1].person == "system:scheduler"
    assert "It moves on to review (Lee Test)." in text_to(change, "rita")


# --- every transition moves the case's version on by one ---------------------------------

LEE, RITA = Actor("lee", "console"), Actor("rita", "console")
V = 7
OPEN_V = review(version=V)
PAUSED_V = case(step(1, ("lee",), tier="review", status=StepStatus.INFO_REQUESTED), version=V)
DECIDED_V = case(
    step(1, ("dan",), status=StepStatus.APPROVED),
    votes=[vote(1, "dan")],
    status=CaseStatus.APPROVED,
    version=V,
)


def _swept(t: str, reminders_sent: int = 0, due_at: datetime = DUE) -> Change:
    waiting = step(1, ("lee", "sam"), tier=t, reminders_sent=reminders_sent, due_at=due_at)
    return sweep(SWEEP, case(waiting, version=V), DUE)


TRANSITIONS: dict[str, Callable[[], Change]] = {
    "a first vote": lambda: act(POLICY, OPEN_V, "lee"),
    "a closing vote": lambda: act(POLICY, review("lee", version=V), "sam"),
    "a rejection": lambda: act(POLICY, OPEN_V, "lee", Action.REJECT, "No."),
    "a decision by policy": lambda: settle_by_policy(
        POLICY, OPEN_V, OPEN_V.steps[0], Action.REJECT, "Timed out.", NOW
    ),
    "a question": lambda: request_info(POLICY, OPEN_V, LEE, "Why?", NOW),
    "an answer": lambda: answer(SWEEP, PAUSED_V, RITA, "So.", NOW),
    "a withdrawal": lambda: end_by_person(POLICY, OPEN_V, RITA, CaseStatus.WITHDRAWN, None, NOW),
    "a revocation": lambda: end_by_person(
        POLICY, DECIDED_V, Actor("ada", "console"), CaseStatus.REVOKED, "Wrong.", NOW
    ),
    "a hand-over": lambda: hand_over(POLICY, OPEN_V, LEE, OPEN_V.steps[0], "lee", "dan", "", NOW),
    "a reminder": lambda: sweep(SWEEP, case(step(1, ("lee",), tier="review"), version=V), NOW),
    "an escalation": lambda: _swept("board", reminders_sent=1, due_at=DUE + HOUR),
    "a reroute": lambda: _swept("review"),
    "an expiry": lambda: _swept("expiring"),
    "a timeout approval": lambda: _swept("lenient"),
    "nobody further": lambda: sweep(NOBODY, case(step(1, ("lee",), tier="solo"), version=V), DUE),
}


@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_every_transition_bumps_the_version_by_exactly_one(name: str) -> None:
    change = TRANSITIONS[name]()
    assert change.case.record.version == V + 1
    assert not change.refused

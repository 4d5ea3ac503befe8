"""The questions a `Case` answers (pure): who voted, who is barred, who is awaited, and who
may act, answer, revoke or hand a step on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from policy.case import Case, Permission, Verdict
from policy.lifecycle import Action, CaseStatus, StepStatus
from policy.model import Role
from tests.policy.cases import FILED, case, step, vote
from tests.policy.helpers import build_policy, person

ADMIN = frozenset({Role.ADMIN})
POLICY = build_policy(
    [
        person("rita", manager="mike"),
        person("mike"),
        person("lee", manager="maya"),
        person("sam", manager="maya"),
        person("ann", delegate="bob"),
        person("bob"),
        person("maya", manager="max"),
        person("max"),
        person("dan"),
        person("tom"),
        person("ada", roles=ADMIN),
        person("eve", roles=ADMIN),
    ]
)
ESCALATED = FILED + timedelta(hours=2)


def two_of(*votes_on_step: str, approvers: tuple[str, ...] = ("lee", "sam")) -> Case:
    """A 2-of step 1 with `approvers`, approved already by each of `votes_on_step`."""
    votes = [vote(1, who, vote_id=n) for n, who in enumerate(votes_on_step, 1)]
    return case(step(1, approvers, mode="count", required=2), votes=votes)


def history(
    current: tuple[str, ...] = ("lee", "sam", "ann"),
    *,
    former: tuple[str, ...] = ("tom",),
    on_step: tuple[str, ...] = ("lee",),
) -> Case:
    """Step 1 approved by dan for carl; step 2 open with `current`, voted on by `on_step`."""
    first = step(1, ("dan",), status=StepStatus.APPROVED)
    second = step(2, current, mode="count", required=2, former_approvers=former)
    votes = [vote(1, "dan", on_behalf_of="carl", vote_id=1)]
    votes += [vote(2, who, vote_id=n) for n, who in enumerate(on_step, 2)]
    return case(first, second, votes=votes)


def refused_with(permission: Permission, text: str) -> bool:
    return permission.verdict is Verdict.REFUSED and text in (permission.reason or "")


# --- N-of-M and all steps -------------------------------------------------------------------


def test_a_voter_is_refused_with_their_vote_and_who_is_still_awaited() -> None:
    voted = two_of("lee")
    assert voted.may_act(POLICY, "lee", Action.APPROVE) == Permission(
        Verdict.REFUSED,
        "You already approved this step at 2026-03-02 09:10 UTC; "
        "waiting for Sam Test, 1 of 2 approvals.",
    )
    assert voted.may_act(POLICY, "sam", Action.APPROVE).allowed


def test_a_vote_moves_the_voter_out_of_awaited_and_counts_towards_the_step() -> None:
    before, after = two_of(), two_of("lee")
    first = after.steps[0]
    assert before.awaited(before.steps[0]) == ("lee", "sam")
    assert after.awaited(first) == ("sam",)
    assert after.voted(first) == {"lee"}
    assert (before.still_needed(before.steps[0]), after.still_needed(first)) == (2, 1)
    assert before.awaiting_text(POLICY, before.steps[0]) == (
        "waiting for Lee Test and Sam Test, 0 of 2 approvals"
    )
    assert after.awaiting_text(POLICY, first) == "waiting for Sam Test, 1 of 2 approvals"


def test_an_all_step_waits_for_every_member() -> None:
    members = ("lee", "sam", "ann")
    votes = [vote(1, "lee", vote_id=1), vote(1, "sam", vote_id=2)]
    every = case(step(1, members, mode="all", required=3), votes=votes)
    only = every.steps[0]
    assert every.awaited(only) == ("ann",)
    assert every.still_needed(only) == 1
    assert every.awaiting_text(POLICY, only) == "waiting for Ann Test, 2 of 3 approvals"
    assert refused_with(every.may_act(POLICY, "sam", Action.REJECT), "You already approved")
    assert every.may_act(POLICY, "ann", Action.APPROVE).allowed


def test_a_single_approval_step_and_a_paused_one_read_without_counts() -> None:
    one = case(step(1, ("lee", "sam")))
    assert one.awaiting_text(POLICY, one.steps[0]) == "waiting for Lee Test and Sam Test"
    paused = case(step(1, ("lee",), status=StepStatus.INFO_REQUESTED))
    assert paused.awaiting_text(POLICY, paused.steps[0]) == (
        "waiting for Rita Test to answer a question"
    )


# --- barred -------------------------------------------------------------------------------


def test_barred_is_the_requester_other_deciders_voters_and_former_approvers() -> None:
    c = history()
    assert c.barred(c.steps[1]) == {"rita", "dan", "carl", "lee", "tom"}
    # On step 1 itself, its own decider is barred as a voter, not step 2's voters.
    assert c.barred(c.steps[0]) == {"rita", "dan", "carl", "lee"}


def test_barred_people_may_not_act_even_when_listed_as_approvers() -> None:
    c = history(current=("lee", "sam", "dan", "rita"))
    assert refused_with(c.may_act(POLICY, "dan", Action.APPROVE), "decided another step")
    assert refused_with(c.may_act(POLICY, "rita", Action.APPROVE), "You filed this exception")
    assert refused_with(c.may_act(POLICY, "tom", Action.APPROVE), "not an approver")
    assert c.may_act(POLICY, "sam", Action.APPROVE).allowed


# --- delegates and managers ---------------------------------------------------------------


def test_a_delegate_acts_for_the_approver_and_that_counts_as_the_approver_s_vote() -> None:
    open_step = two_of(approvers=("lee", "ann"))
    assert open_step.may_act(POLICY, "bob", Action.APPROVE) == Permission(
        Verdict.ALLOWED, on_behalf_of="ann"
    )
    votes = [vote(1, "bob", on_behalf_of="ann")]
    acted = case(step(1, ("lee", "ann"), mode="count", required=2), votes=votes)
    assert acted.awaited(acted.steps[0]) == ("lee",)
    assert refused_with(acted.may_act(POLICY, "ann", Action.APPROVE), "You already approved")
    assert refused_with(acted.may_act(POLICY, "bob", Action.APPROVE), "You already approved")


def test_a_delegate_cannot_act_for_an_approver_who_is_barred() -> None:
    c = history(current=("ann", "sam"), on_step=(), former=("ann",))
    permission = c.may_act(POLICY, "bob", Action.APPROVE)
    assert refused_with(permission, "You stand in for Ann Test, who cannot decide this step")


def test_a_delegate_who_let_the_step_time_out_may_not_decide_it() -> None:
    c = history(current=("ann", "sam"), on_step=(), former=("bob",))
    assert "bob" in c.barred(c.steps[1])
    assert not c.may_act(POLICY, "bob", Action.APPROVE).allowed


def test_a_manager_decides_an_escalated_step_for_the_awaited_approver() -> None:
    escalated = case(
        step(1, ("lee", "sam"), mode="count", required=2, escalated_at=ESCALATED),
        votes=[vote(1, "sam")],
    )
    permission = escalated.may_act(POLICY, "maya", Action.APPROVE)
    assert permission == Permission(
        Verdict.ALLOWED,
        on_behalf_of="lee",
        as_manager=True,
        rationale_prompt="You are deciding EXC-000001 on behalf of Lee Test as their manager: "
        "say why.",
    )
    assert permission.rationale_required
    assert not escalated.may_act(POLICY, "max", Action.APPROVE).allowed  # not the nearest


def test_a_manager_has_no_say_before_escalation() -> None:
    waiting = case(step(1, ("lee",)))
    assert waiting.may_act(POLICY, "maya", Action.APPROVE) == Permission(
        Verdict.REFUSED, "You are not an approver of this step. Its approvers are: Lee Test."
    )


def test_a_barred_manager_is_passed_over_for_the_next_one_up() -> None:
    first = step(1, ("maya",), status=StepStatus.APPROVED)
    second = step(2, ("lee",), escalated_at=ESCALATED)
    c = case(first, second, votes=[vote(1, "maya")])
    assert refused_with(c.may_act(POLICY, "maya", Action.APPROVE), "decided another step")
    permission = c.may_act(POLICY, "max", Action.REJECT)
    assert (permission.allowed, permission.on_behalf_of, permission.as_manager) == (
        True,
        "lee",
        True,
    )


# --- rationale prompts --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "rationale_required", "prompt"),
    [
        (Action.APPROVE, False, None),
        (
            Action.APPROVE,
            True,
            "Policy requires a rationale to approve EXC-000001: say why it is justified.",
        ),
        (Action.REJECT, False, "A rejection needs a rationale: say why."),
        (Action.REJECT, True, "A rejection needs a rationale: say why."),
        (Action.REQUEST_INFO, False, "Say what information you need from the requester."),
        (Action.REQUEST_INFO, True, "Say what information you need from the requester."),
    ],
)
def test_rationale_prompts(action: Action, rationale_required: bool, prompt: str | None) -> None:
    c = case(step(1, ("lee", "ann")), rationale_required=rationale_required)
    for actor in ("lee", "bob"):  # the approver, and a delegate for another
        permission = c.may_act(POLICY, actor, action)
        assert permission.allowed
        assert permission.rationale_prompt == prompt
        assert permission.rationale_required is (prompt is not None)


def test_a_manager_is_always_asked_why() -> None:
    c = case(step(1, ("lee",), escalated_at=ESCALATED))
    for action in (Action.APPROVE, Action.REJECT, Action.REQUEST_INFO):
        prompt = c.may_act(POLICY, "maya", action).rationale_prompt
        assert prompt is not None
        assert "on behalf of Lee Test as their manager" in prompt


def test_a_card_of_an_earlier_step_or_a_final_case_is_closed() -> None:
    c = history()
    assert c.may_act(POLICY, "sam", Action.APPROVE, step_id=1).verdict is Verdict.CLOSED
    assert c.may_act(POLICY, "sam", Action.APPROVE, step_id=2).allowed
    done = case(step(1, ("lee",), status=StepStatus.CANCELLED), status=CaseStatus.WITHDRAWN)
    assert done.may_act(POLICY, "lee", Action.APPROVE).verdict is Verdict.CLOSED


# --- answering, revoking ------------------------------------------------------------------


def test_only_the_requester_answers_and_only_while_a_question_waits() -> None:
    paused = case(step(1, ("lee",), status=StepStatus.INFO_REQUESTED))
    assert paused.may_answer("rita").allowed
    assert refused_with(paused.may_answer("lee"), "Only the person who filed EXC-000001")
    opened = case(step(1, ("lee",)))
    assert opened.may_answer("rita").verdict is Verdict.CLOSED
    assert "/exception comment EXC-000001" in (opened.may_answer("rita").reason or "")
    ended = case(
        step(1, ("lee",), status=StepStatus.CANCELLED),
        status=CaseStatus.WITHDRAWN,
    )
    assert ended.may_answer("rita").verdict is Verdict.CLOSED


def test_an_admin_who_decided_a_step_may_not_revoke_but_another_admin_may() -> None:
    first = step(1, ("ada",), status=StepStatus.APPROVED)
    second = step(2, ("bob",), status=StepStatus.APPROVED)
    votes = [vote(1, "ada", vote_id=1), vote(2, "bob", on_behalf_of="eve", vote_id=2)]
    approved = case(first, second, votes=votes, status=CaseStatus.APPROVED)
    assert refused_with(approved.may_revoke(POLICY, "ada"), "another admin must revoke it")
    # eve was acted for by her delegate: that decision is hers too.
    assert refused_with(approved.may_revoke(POLICY, "eve"), "another admin must revoke it")
    by_ada = case(first, votes=votes[:1], status=CaseStatus.APPROVED)
    assert by_ada.may_revoke(POLICY, "eve").allowed
    assert refused_with(by_ada.may_revoke(POLICY, "lee"), "Only a policy admin")
    pending = case(step(1, ("lee",)))
    assert pending.may_revoke(POLICY, "eve").verdict is Verdict.CLOSED


# --- handing a step on --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "verdict", "text"),
    [
        ("rita", Verdict.REFUSED, "Rita Test filed EXC-000001"),
        ("sam", Verdict.CLOSED, "Sam Test is already an approver"),
        ("tom", Verdict.REFUSED, "Tom Test already had this step of EXC-000001 and let it"),
        ("dan", Verdict.REFUSED, "Dan Test already decided a step of EXC-000001"),
        ("carl", Verdict.REFUSED, "already decided a step of EXC-000001"),
    ],
)
def test_a_step_is_never_handed_to_someone_who_may_not_decide_it(
    target: str, verdict: Verdict, text: str
) -> None:
    c = history(on_step=())
    for permission in (
        c.may_hand_over(POLICY, "lee", target),
        c.may_receive(POLICY, c.steps[1], target),
    ):
        assert permission.verdict is verdict
        assert text in (permission.reason or "")


def test_a_step_is_handed_on_by_an_approver_who_has_not_voted_to_someone_free() -> None:
    c = history(on_step=("sam",))
    assert c.may_hand_over(POLICY, "lee", "eve").allowed
    assert c.may_receive(POLICY, c.steps[1], "eve").allowed
    assert refused_with(c.may_hand_over(POLICY, "sam", "eve"), "You already voted")
    assert refused_with(c.may_hand_over(POLICY, "max", "bob"), "is not waiting for you")
    # Nobody but an admin moves someone else's place.
    assert refused_with(c.may_hand_over(POLICY, "lee", "bob", "ann"), "Only a policy admin")
    # Someone who voted on the step for another (so not an approver) gets no place on it.
    acted = case(step(1, ("lee", "ann")), votes=[vote(1, "bob", on_behalf_of="ann")])
    assert refused_with(acted.may_receive(POLICY, acted.steps[0], "bob"), "Bob Test already")


def test_an_admin_moves_anyones_place_that_is_still_awaited() -> None:
    c = history(on_step=("sam",))  # lee and ann are awaited on step 2
    assert c.may_hand_over(POLICY, "eve", "bob", "ann").allowed
    assert c.place_to_move(POLICY, "eve", "ann") == "ann"
    assert refused_with(c.may_hand_over(POLICY, "eve", "bob", "sam"), "Sam Test already voted")
    assert refused_with(c.may_hand_over(POLICY, "eve", "bob", "max"), "not an approver")
    # With two awaited, the admin must say whose place; with one, it is that one's.
    assert c.place_to_move(POLICY, "eve", None) is None
    assert refused_with(c.may_hand_over(POLICY, "eve", "bob"), "say whose place moves")
    one_left = history(on_step=("sam", "lee"))
    assert one_left.place_to_move(POLICY, "eve", None) == "ann"
    assert one_left.may_hand_over(POLICY, "eve", "bob").allowed
    # Segregation of duties holds for an admin's move too.
    assert refused_with(c.may_hand_over(POLICY, "eve", "rita", "ann"), "Rita Test filed")


def test_nothing_is_handed_on_from_a_final_case() -> None:
    done = case(step(1, ("lee",), status=StepStatus.CANCELLED), status=CaseStatus.WITHDRAWN)
    assert done.may_hand_over(POLICY, "lee", "eve").verdict is Verdict.CLOSED

"""Segregation of duties, as the case model answers it (`Case.may_act` and friends)."""

from __future__ import annotations

from policy.case import Permission, Verdict
from policy.lifecycle import Action, CaseStatus, StepStatus
from policy.model import Role
from tests.policy.cases import case, step, vote
from tests.policy.helpers import build_policy, person

POLICY = build_policy(
    [
        person("rita"),
        person("lee"),
        person("dana"),
        person("vic", delegate="sam"),
        person("sam"),
        person("ada", roles=frozenset({Role.ADMIN})),
        person("eve", roles=frozenset({Role.ADMIN})),
    ]
)


def decide(
    actor: str,
    approvers: tuple[str, ...] = ("lee", "dana"),
    decided: tuple[str, ...] = (),
    voted: bool = False,
) -> Permission:
    """`actor` approving step 2 (approvers `approvers`); `decided` decided step 1."""
    first = step(1, decided or ("x",), status=StepStatus.APPROVED)
    votes = [vote(1, who, vote_id=n) for n, who in enumerate(decided, 1)]
    if voted:
        votes.append(vote(2, actor, vote_id=99))
    second = step(2, approvers, mode="count", required=2)
    return case(first, second, votes=votes).may_act(POLICY, actor, Action.APPROVE)


def test_an_approver_may_decide() -> None:
    assert decide("lee") == Permission(Verdict.ALLOWED)


def test_the_requester_may_not() -> None:
    assert decide("rita", approvers=("rita", "lee")) == Permission(
        Verdict.REFUSED,
        "You filed this exception, so you cannot decide it (segregation of duties).",
    )


def test_nobody_decides_two_steps() -> None:
    permission = decide("lee", decided=("lee",))
    assert permission.verdict is Verdict.REFUSED
    assert permission.reason is not None
    assert permission.reason.startswith("You already decided another step of this exception")


def test_one_vote_per_step_and_the_voter_hears_who_is_still_awaited() -> None:
    permission = decide("lee", voted=True)
    assert permission.verdict is Verdict.REFUSED
    assert permission.reason == (
        "You already approved this step at 2026-03-02 09:10 UTC; "
        "waiting for Dana Test, 1 of 2 approvals."
    )


def test_others_are_told_who_the_approvers_are() -> None:
    assert decide("sam") == Permission(
        Verdict.REFUSED,
        "You are not an approver of this step. Its approvers are: Lee Test and Dana Test.",
    )


def test_a_delegate_acts_on_behalf_of_the_approver() -> None:
    assert decide("sam", approvers=("lee", "vic")) == Permission(
        Verdict.ALLOWED, on_behalf_of="vic"
    )


def test_a_delegate_cannot_use_the_authority_of_someone_who_decided_another_step() -> None:
    permission = decide("sam", approvers=("vic",), decided=("vic",))
    assert permission.verdict is Verdict.REFUSED
    assert permission.reason is not None
    assert permission.reason.startswith("You stand in for Vic Test, who cannot decide this step")


def test_a_decided_case_is_closed_to_everyone() -> None:
    done = case(
        step(1, ("lee",), status=StepStatus.APPROVED),
        votes=[vote(1, "lee")],
        status=CaseStatus.APPROVED,
    )
    for who in ("lee", "rita", "sam"):
        permission = done.may_act(POLICY, who, Action.APPROVE)
        assert permission.verdict is Verdict.CLOSED
        assert permission.reason == (
            "EXC-000001 is already approved: Lee Test approved it at 2026-03-02 09:10 UTC."
        )


def test_a_press_on_a_step_no_longer_current_is_out_of_date() -> None:
    moved_on = case(
        step(1, ("lee",), status=StepStatus.APPROVED),
        step(2, ("dana",), tier="finance"),
        votes=[vote(1, "lee")],
    )
    permission = moved_on.may_act(POLICY, "lee", Action.APPROVE, step_id=1)
    assert permission.verdict is Verdict.CLOSED
    assert permission.reason is not None
    assert "It is now with finance" in permission.reason


def test_only_admins_revoke_never_their_own_exception_nor_a_case_they_decided() -> None:
    decided = case(
        step(1, ("ada",), status=StepStatus.APPROVED),
        votes=[vote(1, "ada")],
        status=CaseStatus.APPROVED,
    )
    assert decided.may_revoke(POLICY, "eve").allowed
    assert decided.may_revoke(POLICY, "lee") == Permission(
        Verdict.REFUSED, "Only a policy admin can revoke a decision, and you are not one."
    )
    refused = decided.may_revoke(POLICY, "ada")
    assert refused.verdict is Verdict.REFUSED
    assert refused.reason is not None
    assert "another admin must revoke it" in refused.reason
    own = case(
        step(1, ("lee",), status=StepStatus.APPROVED), requester="ada", status=CaseStatus.APPROVED
    )
    reason = own.may_revoke(POLICY, "ada").reason
    assert reason is not None
    assert "You filed this exception" in reason


def test_only_the_requester_withdraws_a_pending_case() -> None:
    pending = case(step(1, ("lee",)))
    assert pending.may_withdraw("rita").allowed
    assert pending.may_withdraw("lee") == Permission(
        Verdict.REFUSED, "Only the person who filed this exception can withdraw it."
    )

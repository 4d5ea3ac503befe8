from __future__ import annotations

from policy.model import Role
from policy.sod import Permission, may_decide, may_revoke, may_withdraw
from tests.policy.helpers import build_policy, person

POLICY = build_policy(
    [
        person("rita"),
        person("lee"),
        person("dana"),
        person("vic", delegate="sam"),
        person("sam"),
        person("ada", roles=frozenset({Role.ADMIN})),
    ]
)


def decide(
    actor: str,
    approvers: tuple[str, ...] = ("lee", "dana"),
    decided: frozenset[str] = frozenset(),
    voted: bool = False,
) -> Permission:
    return may_decide(
        POLICY,
        actor,
        requester="rita",
        step_approvers=approvers,
        decided_other_steps=decided,
        already_voted=voted,
    )


def test_an_approver_may_decide() -> None:
    assert decide("lee") == Permission(allowed=True)


def test_the_requester_may_not() -> None:
    assert decide("rita", approvers=("rita", "lee")) == Permission(
        False, "You filed this exception, so you cannot decide it (segregation of duties)."
    )


def test_nobody_decides_two_steps() -> None:
    permission = decide("lee", decided=frozenset({"lee"}))
    assert not permission.allowed
    assert permission.reason is not None
    assert permission.reason.startswith("You already decided another step of this exception")


def test_one_vote_per_step() -> None:
    assert decide("lee", voted=True) == Permission(False, "You have already voted on this step.")


def test_others_are_told_who_the_approvers_are() -> None:
    assert decide("sam") == Permission(
        False, "You are not an approver of this step. Its approvers are: Lee Test, Dana Test."
    )


def test_a_delegate_acts_on_behalf_of_the_approver() -> None:
    assert decide("sam", approvers=("lee", "vic")) == Permission(True, on_behalf_of="vic")


def test_a_delegate_cannot_use_the_authority_of_someone_who_decided_another_step() -> None:
    permission = decide("sam", approvers=("vic",), decided=frozenset({"vic"}))
    assert not permission.allowed
    assert permission.reason is not None
    assert permission.reason.startswith("You stand in for Vic Test, who already decided")


def test_only_admins_revoke_and_never_their_own_exception() -> None:
    assert may_revoke(POLICY, "ada", requester="rita") == Permission(True)
    assert may_revoke(POLICY, "lee", requester="rita") == Permission(
        False, "Only a policy admin can revoke a decision, and you are not one."
    )
    refused = may_revoke(POLICY, "ada", requester="ada")
    assert not refused.allowed
    assert refused.reason is not None
    assert "You filed this exception" in refused.reason


def test_only_the_requester_withdraws() -> None:
    assert may_withdraw("rita", "rita") == Permission(True)
    assert may_withdraw("lee", "rita") == Permission(
        False, "Only the person who filed this exception can withdraw it."
    )

from __future__ import annotations

import pytest

from policy.model import ApprovalMode
from policy.routing import NoEligibleApprover, eligible_approvers, route_step
from tests.policy.helpers import build_policy, person, tier

PEOPLE = [
    person("cleo"),
    person("boss", manager="cleo"),
    person("rita", manager="boss"),
    person("lee", manager="boss"),
    person("dana", manager="boss"),
    person("vic", manager="boss", delegate="sam"),
    person("sam", manager="boss"),
    person("max", manager="boss"),
]
GROUPS: dict[str, tuple[str, ...]] = {"leads": ("lee", "dana"), "more": ("dana", "max")}


def approvers(
    *members: str,
    requester: str = "rita",
    mode: ApprovalMode | None = None,
    backup: tuple[str, ...] = (),
    exclude: frozenset[str] = frozenset(),
) -> tuple[str, ...]:
    t = tier("t", members, mode, backup)
    return eligible_approvers(t, build_policy(PEOPLE, (t,), GROUPS), requester, exclude)


def test_groups_expand_first_seen_first_without_repeats() -> None:
    assert approvers("group:leads", "group:more", "lee") == ("lee", "dana", "max")


def test_a_delegate_receives_the_approvals() -> None:
    assert approvers("vic", "lee") == ("sam", "lee")


def test_the_requester_is_dropped() -> None:
    assert approvers("group:leads", requester="lee") == ("dana",)


def test_people_who_approved_another_step_are_dropped() -> None:
    assert approvers("group:leads", "max", exclude=frozenset({"dana"})) == ("lee", "max")


def test_a_delegate_cannot_stand_in_for_the_requester() -> None:
    assert approvers("vic", "lee", requester="vic") == ("lee",)


def test_backup_tops_up_a_short_tier_only() -> None:
    assert approvers("lee", requester="lee", backup=("dana", "max")) == ("dana",)
    assert approvers("lee", backup=("dana",)) == ("lee",)


def test_then_the_requesters_manager_chain() -> None:
    assert approvers("lee", requester="lee", backup=("lee",)) == ("boss",)
    mode = ApprovalMode.of(2)
    assert approvers("lee", requester="lee", mode=mode) == ("boss", "cleo")


def test_no_eligible_approver_says_why() -> None:
    t = tier("solo", ("cleo",))
    policy = build_policy(PEOPLE, (t,))
    with pytest.raises(NoEligibleApprover) as raised:
        eligible_approvers(t, policy, "cleo")
    assert raised.value.tier_id == "solo"
    assert str(raised.value).startswith(
        "tier 'solo' needs 1 approver but only 0 can approve this request (nobody)"
    )


def test_a_count_mode_needs_that_many_people() -> None:
    t = tier("pair", ("lee", "dana"), ApprovalMode.of(3))
    with pytest.raises(NoEligibleApprover, match="needs 3 approvers but only 2"):
        eligible_approvers(t, build_policy([person("lee"), person("dana")], (t,)), "rita")


@pytest.mark.parametrize(
    ("mode", "required"),
    [(ApprovalMode.any(), 1), (ApprovalMode.all(), 3), (ApprovalMode.of(2), 2)],
)
def test_route_step_counts_required_approvals(mode: ApprovalMode, required: int) -> None:
    t = tier("t", ("lee", "dana", "max"), mode)
    step = route_step(t, build_policy(PEOPLE, (t,)), "rita")
    assert (step.tier, step.approvers, step.mode, step.required) == (
        "t",
        ("lee", "dana", "max"),
        mode,
        required,
    )
    assert step.sla == t.sla


def test_mode_all_counts_only_the_eligible() -> None:
    t = tier("t", ("lee", "dana", "rita"), ApprovalMode.all())
    assert route_step(t, build_policy(PEOPLE, (t,)), "rita").required == 2

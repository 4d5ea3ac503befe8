from __future__ import annotations

import pytest

from policy.model import ApprovalMode, Role
from policy.routing import route_step, staff_tier
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
    return staff_tier(t, build_policy(PEOPLE, (t,), GROUPS), requester, exclude).approvers


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


def test_then_the_admins_and_nobody_is_said_plainly() -> None:
    admin = person("ada", roles=frozenset({Role.ADMIN}))
    t = tier("solo", ("cleo",))
    staffing = staff_tier(t, build_policy([*PEOPLE, admin], (t,)), "cleo")
    assert (staffing.approvers, staffing.unstaffed) == (("ada",), False)

    alone = staff_tier(t, build_policy(PEOPLE, (t,)), "cleo")
    assert (alone.approvers, alone.unstaffed, alone.required) == ((), True, 1)


def test_a_count_mode_short_of_people_says_so_and_needs_what_it_can_get() -> None:
    t = tier("pair", ("lee", "dana"), ApprovalMode.of(3))
    staffing = staff_tier(t, build_policy([person("lee"), person("dana")], (t,)), "rita")
    assert (staffing.approvers, staffing.wanted, staffing.required) == (("lee", "dana"), 3, 2)
    assert staffing.short


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


def test_mode_all_replaces_members_barred_by_segregation_of_duties() -> None:
    """An `all` tier needs as many approvals as it has members: the requester's place goes
    to the backup, then to the requester's managers."""
    t = tier("t", ("lee", "dana", "rita"), ApprovalMode.all(), ("max",))
    step = route_step(t, build_policy(PEOPLE, (t,)), "rita")
    assert (step.approvers, step.required, step.short) == (("lee", "dana", "max"), 3, False)

    bare = tier("t", ("lee", "dana", "rita"), ApprovalMode.all())
    step = route_step(bare, build_policy(PEOPLE, (bare,)), "rita")
    assert (step.approvers, step.required) == (("lee", "dana", "boss"), 3)

"""Who approves a tier for one request, whom an overdue step goes to, and who stands in.

A tier is staffed (`staff_tier`) with its approvers, groups expanded and each person who has
a `delegate` replaced by that delegate (one level: a delegate's own delegate is not
followed). Someone marked away (`away`: person id -> the delegate they named) is replaced by
that delegate instead of the policy's. Anyone `barred` (the requester, people who decided
another step of the case) is dropped, and so is a delegate standing in for one of them.

A tier wants as many people as it needs approvals: one for `any`, N for `N`, and for `all`
as many as the tier has members. People dropped by segregation of duties are replaced, in
this order, by the tier's `backup`, the requester's managers (nearest first) and the
policy's admins, with the same filtering, so what a tier requires is never lowered quietly:
when fewer people remain, the staffing says so (`short`), and nobody at all is `unstaffed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from policy.model import Policy, Role, RouteStep, Tier

NOBODY_AWAY: Mapping[str, str] = {}


@dataclass(frozen=True, slots=True)
class Staffing:
    """The people a step of a tier goes to, and how many approvals close it."""

    approvers: tuple[str, ...]
    required: int  # approvals that close the step (never more than there are approvers)
    wanted: int  # approvals the tier asks for

    @property
    def short(self) -> bool:
        return len(self.approvers) < self.wanted

    @property
    def unstaffed(self) -> bool:
        return not self.approvers


def wanted_approvals(tier: Tier, policy: Policy) -> int:
    """Distinct approvals a tier asks for: 1 (any), N, or every member (all)."""
    if tier.mode.kind == "all":
        return max(len(policy.expand(tier.approvers)), 1)
    return max(tier.mode.count, 1)


def staff_tier(
    tier: Tier,
    policy: Policy,
    requester: str,
    barred: frozenset[str] = frozenset(),
    away: Mapping[str, str] = NOBODY_AWAY,
) -> Staffing:
    """Who decides `tier` for a request filed by `requester`, topped up as needed."""
    wanted = wanted_approvals(tier, policy)
    skip = barred | {requester}
    chosen: dict[str, None] = {}
    admins = tuple(p.id for p in policy.people.values() if p.has_role(Role.ADMIN))
    sources = (
        policy.expand(tier.approvers),
        policy.expand(tier.backup),
        tuple(manager_chain(policy, requester)),
        admins,
    )
    for number, source in enumerate(sources):
        for person_id in source:
            if number > 0 and len(chosen) >= wanted:
                break  # backups, managers and admins only top up a short tier
            target = stand_in(policy, person_id, away)
            # Barred people cannot approve through a delegate either.
            if person_id not in skip and target not in skip:
                chosen.setdefault(target, None)
    approvers = tuple(chosen)
    required = 1 if tier.mode.kind == "any" else max(min(wanted, len(approvers)), 1)
    return Staffing(approvers, required, wanted)


def route_step(
    tier: Tier,
    policy: Policy,
    requester: str,
    exclude: frozenset[str] = frozenset(),
    away: Mapping[str, str] = NOBODY_AWAY,
) -> RouteStep:
    staffing = staff_tier(tier, policy, requester, exclude, away)
    return RouteStep(
        tier=tier.id,
        approvers=staffing.approvers,
        mode=tier.mode,
        required=staffing.required,
        sla=tier.sla,
        wanted=staffing.wanted,
    )


def delegate_of(policy: Policy, person_id: str) -> str:
    """Who receives `person_id`'s approvals: their delegate if set, else themselves."""
    person = policy.person(person_id)
    return person.delegate if person is not None and person.delegate else person_id


def stand_in(policy: Policy, person_id: str, away: Mapping[str, str] = NOBODY_AWAY) -> str:
    """Who acts for `person_id` now: the delegate they named while away, else `delegate_of`."""
    return away.get(person_id) or delegate_of(policy, person_id)


def escalation_managers(
    policy: Policy, approvers: Iterable[str], barred: frozenset[str]
) -> tuple[str, ...]:
    """Whom an overdue step escalates to: each approver's nearest manager who may decide.

    A manager who is barred (the requester, someone who decided another step or voted on this
    one) or who is an approver of the step already is passed over for the next one up.
    """
    approvers = tuple(approvers)
    chosen: dict[str, None] = {}
    for approver in approvers:
        for manager in manager_chain(policy, approver):
            if manager not in barred and manager not in approvers:
                chosen.setdefault(manager, None)
                break
    return tuple(chosen)


def reroute_targets(
    policy: Policy,
    tier: Tier,
    *,
    requester: str,
    current: tuple[str, ...],
    level: int,
    barred: frozenset[str],
    needed: int,
    away: Mapping[str, str] = NOBODY_AWAY,
) -> tuple[str, ...]:
    """Who a step that timed out goes to next (`level` 1 at the first timeout, then 2, ...).

    Level 1 is the tier's `backup`; each later level is the managers of the people the step
    is with now (`current`), as is level 1 when the backup is missing or may not decide. While
    fewer than `needed` people are found, the search climbs further up the manager chain,
    then takes the policy's admins. Never the requester, anyone `barred` or anyone the step
    is already with; someone away is replaced by their delegate. May return fewer than
    `needed`, or nobody.
    """
    skip = barred | {requester}
    chosen: dict[str, None] = {}
    seen = set(current)

    def consider(people: Iterable[str]) -> None:
        for person_id in people:
            target = stand_in(policy, person_id, away)
            if person_id not in skip and target not in skip and target not in current:
                chosen.setdefault(target, None)

    if level == 1:
        consider(policy.expand(tier.backup))
    source = _managers(policy, current, seen) if len(chosen) < needed else []
    while source and len(chosen) < needed:
        consider(source)
        seen.update(source)
        source = _managers(policy, source, seen)
    if len(chosen) < needed:
        consider(p.id for p in policy.people.values() if p.has_role(Role.ADMIN))
    return tuple(chosen)


def _managers(policy: Policy, people: Iterable[str], seen: set[str]) -> list[str]:
    """The direct managers of `people` not seen yet, first seen first."""
    found: dict[str, None] = {}
    for person_id in people:
        person = policy.person(person_id)
        if person is not None and person.manager and person.manager not in seen:
            found.setdefault(person.manager, None)
    return list(found)


def manager_chain(policy: Policy, person_id: str) -> Iterator[str]:
    """`person_id`'s manager, their manager, and so on (stops at a cycle)."""
    seen = {person_id}
    person = policy.person(person_id)
    while person is not None and person.manager and person.manager not in seen:
        seen.add(person.manager)
        yield person.manager
        person = policy.person(person.manager)

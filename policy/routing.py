"""Who approves a tier for one request.

The tier's approvers, with groups expanded and each person who has a `delegate` replaced by
that delegate (delegation is one level: a delegate's own delegate is not followed). Someone
marked away (`away`: person id -> the delegate they named) is replaced by that delegate
instead of the policy's. The
requester and anyone in `exclude` (people who already approved another step of the case)
are dropped, and so is a delegate standing in for one of them. When that leaves fewer people
than the mode needs (any: 1, N: N, all: 1), the tier's `backup` tops it up, then the
requester's managers, nearest first, with the same filtering.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from policy.model import Policy, Role, RouteStep, Tier

NOBODY_AWAY: Mapping[str, str] = {}


class NoEligibleApprover(Exception):
    """A tier for which no (or too few) people may approve this request."""

    def __init__(self, tier_id: str, message: str) -> None:
        super().__init__(message)
        self.tier_id = tier_id
        self.message = message


def eligible_approvers(
    tier: Tier,
    policy: Policy,
    requester: str,
    exclude: frozenset[str] = frozenset(),
    away: Mapping[str, str] = NOBODY_AWAY,
) -> tuple[str, ...]:
    """The person ids who may approve `tier` for a request filed by `requester`."""
    needed = _needed(tier)
    barred = exclude | {requester}
    chosen: dict[str, None] = {}
    sources = (
        policy.expand(tier.approvers),
        policy.expand(tier.backup),
        tuple(manager_chain(policy, requester)),
    )
    for number, source in enumerate(sources):
        if number > 0 and len(chosen) >= needed:
            break  # backups and managers only top up a short tier
        for person_id in source:
            target = stand_in(policy, person_id, away)
            # Barred people cannot approve through a delegate either.
            if person_id not in barred and target not in barred:
                chosen.setdefault(target, None)
            if number > 0 and len(chosen) >= needed:
                break
    if len(chosen) < needed:
        raise NoEligibleApprover(tier.id, _shortage(tier, requester, exclude, chosen))
    return tuple(chosen)


def route_step(
    tier: Tier,
    policy: Policy,
    requester: str,
    exclude: frozenset[str] = frozenset(),
    away: Mapping[str, str] = NOBODY_AWAY,
) -> RouteStep:
    approvers = eligible_approvers(tier, policy, requester, exclude, away)
    return RouteStep(
        tier=tier.id,
        approvers=approvers,
        mode=tier.mode,
        required=tier.mode.required(len(approvers)),
        sla=tier.sla,
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


def _needed(tier: Tier) -> int:
    """People a tier must have to be decidable: N for "N of them", else 1."""
    return tier.mode.count if tier.mode.kind == "count" else 1


def _shortage(tier: Tier, requester: str, exclude: frozenset[str], chosen: dict[str, None]) -> str:
    needed = _needed(tier)
    left_out = ["the requester"]
    if exclude:
        left_out.append(f"those who approved another step ({', '.join(sorted(exclude))})")
    found = ", ".join(chosen) if chosen else "nobody"
    return (
        f"tier {tier.id!r} needs {needed} approver{'s' if needed != 1 else ''} but only "
        f"{len(chosen)} can approve this request ({found}), after leaving out "
        f"{' and '.join(left_out)} and adding backups and the managers of {requester!r}"
    )

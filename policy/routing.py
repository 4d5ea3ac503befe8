"""Who approves a tier for one request.

The tier's approvers, with groups expanded and each person who has a `delegate` replaced by
that delegate (delegation is one level: a delegate's own delegate is not followed). The
requester and anyone in `exclude` (people who already approved another step of the case)
are dropped, and so is a delegate standing in for one of them. When that leaves fewer people
than the mode needs (any: 1, N: N, all: 1), the tier's `backup` tops it up, then the
requester's managers, nearest first, with the same filtering.
"""

from __future__ import annotations

from collections.abc import Iterator

from policy.model import Policy, RouteStep, Tier


class NoEligibleApprover(Exception):
    """A tier for which no (or too few) people may approve this request."""

    def __init__(self, tier_id: str, message: str) -> None:
        super().__init__(message)
        self.tier_id = tier_id
        self.message = message


def eligible_approvers(
    tier: Tier, policy: Policy, requester: str, exclude: frozenset[str] = frozenset()
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
            target = delegate_of(policy, person_id)
            # Barred people cannot approve through a delegate either.
            if person_id not in barred and target not in barred:
                chosen.setdefault(target, None)
            if number > 0 and len(chosen) >= needed:
                break
    if len(chosen) < needed:
        raise NoEligibleApprover(tier.id, _shortage(tier, requester, exclude, chosen))
    return tuple(chosen)


def route_step(
    tier: Tier, policy: Policy, requester: str, exclude: frozenset[str] = frozenset()
) -> RouteStep:
    approvers = eligible_approvers(tier, policy, requester, exclude)
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

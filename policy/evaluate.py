"""What policy says about one exception request: which rules fire, and what happens next.

Combining, in this order:

1. Every rule whose condition holds fires; a rule whose condition has no answer (an absent
   field, see `policy.conditions`) is skipped and reported, never fired.
2. Any firing `outcome: reject` rejects the request.
3. Otherwise any firing route wins over `outcome: approve`: the route is the union of the
   firing rules' tiers, in ladder order (the order of `tiers` in the file), without repeats.
4. Otherwise a firing `outcome: approve` approves, unless a skipped rule could have routed or
   rejected: then the request goes to `defaults.route` instead (a missing field never
   auto-approves).
5. When nothing fires, the route is `defaults.route`, as written.

Refs, urls and flags of every firing rule travel with the case (flags de-duplicated, first seen
first); a rationale is required if any firing rule requires one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policy.conditions import (
    ConditionError,
    activation,
    compile_condition,
    evaluate_condition,
    field_values,
    show_value,
)
from policy.model import Evaluation, Outcome, Policy, Rule, RuleHit, RuleSkip
from policy.request import ExceptionRequest
from policy.routing import NOBODY_AWAY, route_step


def request_problems(request: ExceptionRequest, policy: Policy) -> list[tuple[str, str]]:
    """(field, message) for each part of `request` this policy cannot work with."""
    problems = []
    if request.code not in policy.taxonomy:
        known = ", ".join(sorted(policy.taxonomy))
        problems.append(("code", f"unknown exception code {request.code!r}; known codes: {known}"))
    if policy.find_person(request.requester) is None:
        problems.append(
            (
                "requester",
                f"{request.requester!r} is neither a person id nor an email in the policy",
            )
        )
    return problems


def evaluate(
    request: ExceptionRequest,
    policy: Policy,
    away: Mapping[str, str] = NOBODY_AWAY,
    aggregates: Mapping[str, Mapping[str, Any]] | None = None,
) -> Evaluation:
    """Apply `policy` to `request` (which must have no `request_problems`).

    `away` maps people who are away to the delegate they named (see `policy.routing`);
    `aggregates` holds the values of the policy's aggregates for this request (see
    `policy.aggregates`; one it lacks is absent, and the rules reading it are skipped).
    A tier with too few people who may approve is staffed as far as it can be and says so
    (`RouteStep.short`; no approvers at all when nobody may).
    """
    requester = policy.find_person(request.requester)
    exception_type = policy.taxonomy.get(request.code)
    if requester is None or exception_type is None:
        problems = "; ".join(message for _, message in request_problems(request, policy))
        raise ValueError(f"cannot evaluate this request: {problems}")

    bound = activation(request, requester.id, aggregates)
    fired: list[tuple[Rule, RuleHit]] = []
    skipped: list[tuple[Rule, RuleSkip]] = []
    for rule in policy.rules:
        try:
            holds = evaluate_condition(program_of(policy, rule), bound)
        except ConditionError as err:
            skipped.append((rule, RuleSkip(rule.id, err.message)))
            continue
        if holds:
            fired.append((rule, _hit(rule, bound)))

    outcome, tier_ids = combine(policy, [r for r, _ in fired], [r for r, _ in skipped])
    route = tuple(route_step(policy.tier(t), policy, requester.id, away=away) for t in tier_ids)
    return Evaluation(
        outcome=outcome,
        exception_title=exception_type.title,
        route=route,
        fired=tuple(hit for _, hit in fired),
        skipped=tuple(skip for _, skip in skipped),
        flags=flags_of(rule for rule, _ in fired),
        rationale_required=any(rule.rationale_required for rule, _ in fired),
        policy_version=policy.version,
    )


def program_of(policy: Policy, rule: Rule) -> Any:
    """The rule's compiled condition (compiled here for a Policy built by hand)."""
    program = policy.compiled.get(rule.id)
    return program if program is not None else compile_condition(rule.when)


def flags_of(fired: Iterable[Rule]) -> tuple[str, ...]:
    """The flags of the firing rules, de-duplicated, first seen first."""
    return tuple(dict.fromkeys(flag for rule in fired for flag in rule.flags))


def combine(
    policy: Policy, fired: list[Rule], skipped: list[Rule]
) -> tuple[Outcome, tuple[str, ...]]:
    """Steps 2 to 5 above: the outcome and, when it is ROUTE, the tier ids of the route."""
    if any(rule.outcome is Outcome.REJECT for rule in fired):
        return Outcome.REJECT, ()
    routed = {tier_id for rule in fired for tier_id in rule.route}
    if routed:
        return Outcome.ROUTE, tuple(tier.id for tier in policy.tiers if tier.id in routed)
    approved = any(rule.outcome is Outcome.APPROVE for rule in fired)
    could_object = any(rule.route or rule.outcome is Outcome.REJECT for rule in skipped)
    if approved and not could_object:
        return Outcome.APPROVE, ()
    return Outcome.ROUTE, policy.default_route


def _hit(rule: Rule, bound: Mapping[str, Any]) -> RuleHit:
    return RuleHit(
        rule_id=rule.id,
        ref=rule.ref,
        url=rule.url,
        flags=rule.flags,
        outcome=rule.outcome,
        route=rule.route,
        explanation=explain(rule.when, bound),
    )


def explain(condition: str, bound: Mapping[str, Any]) -> str:
    """`amount > 25000.0 (amount = 30000.0)`: a condition with the values it read."""
    text = " ".join(line.strip() for line in condition.strip().splitlines())
    values = [
        f"{path} = {show_value(value)}" if present else f"{path} absent"
        for path, value, present in field_values(condition, bound)
    ]
    return f"{text} ({', '.join(values)})" if values else text

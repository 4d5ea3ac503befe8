"""Plain text of an evaluation, for `approvals policy simulate` and the console."""

from __future__ import annotations

from policy.durations import format_duration
from policy.model import Evaluation, Outcome, Policy, RouteStep

_OUTCOMES = {
    Outcome.ROUTE: "route to approvers",
    Outcome.APPROVE: "approved by policy (no approver)",
    Outcome.REJECT: "rejected by policy (no approver)",
}


def describe(evaluation: Evaluation, policy: Policy) -> str:
    lines = [
        f"Outcome: {_OUTCOMES[evaluation.outcome]}",
        f"Exception: {evaluation.exception_title}",
    ]
    if evaluation.route:
        lines.append("Route:")
        lines += [f"  {n}. {_step(step, policy)}" for n, step in enumerate(evaluation.route, 1)]
    withheld = evaluation.outcome is Outcome.ROUTE and any(
        hit.outcome is Outcome.APPROVE for hit in evaluation.fired
    )
    if withheld and not any(hit.route for hit in evaluation.fired):
        lines.append(
            "Auto-approval withheld: a skipped rule could have routed or rejected this request, "
            "so it goes to the default route."
        )
    lines.append("Rules fired:" if evaluation.fired else "Rules fired: none (default route)")
    for hit in evaluation.fired:
        decides = f" -> {hit.outcome}" if hit.outcome else f" -> {', '.join(hit.route)}"
        lines.append(f"  - {hit.rule_id}{decides}: {hit.explanation}")
        reference = " ".join(part for part in (hit.ref, hit.url) if part)
        if reference:
            lines.append(f"      policy: {reference}")
    if evaluation.skipped:
        lines.append("Rules skipped:")
        lines += [f"  - {skip.rule_id}: {skip.reason}" for skip in evaluation.skipped]
    lines.append(f"Flags: {', '.join(evaluation.flags) if evaluation.flags else 'none'}")
    lines.append(f"Rationale: {'required' if evaluation.rationale_required else 'optional'}")
    lines.append(f"Policy version: {evaluation.policy_version}")
    return "\n".join(lines)


def _step(step: RouteStep, policy: Policy) -> str:
    people = ", ".join(_person(policy, person_id) for person_id in step.approvers) or "nobody"
    short = (
        f" (SHORT: the tier asks for {step.wanted}, only {len(step.approvers)} may decide)"
        if step.short
        else ""
    )
    return (
        f"{step.tier}: {people}; mode {step.mode}, {step.required} of {len(step.approvers)} "
        f"required{short}; SLA {format_duration(step.sla)}"
    )


def _person(policy: Policy, person_id: str) -> str:
    person = policy.person(person_id)
    return f"{person.name} ({person_id})" if person is not None else person_id

"""An amendment from the source: the case takes the new request, and if the change is
material (`policy.amendments`) the approvals given so far no longer stand.

Immaterial: the case's request and its evaluation are replaced, the change is recorded
(`case.amended`, each field before and after) and shown on every card; the route, the votes
and the status stay. Material: every step of the case is superseded (its votes are kept for
the record and count no more), and the case starts again under the new evaluation: pending,
to be routed from the first tier (the caller inserts the new steps and opens the first,
`route_again`), or approved or rejected by policy. A decided case that goes back to pending
is reopened (`case.reopened`). Everyone who had the case in hand hears what changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from policy.actor import POLICY, Actor
from policy.amendments import FieldChange
from policy.audit_data import AuditData
from policy.case import Case
from policy.case_draft import Change, Draft
from policy.lifecycle import CASE_ENDING, AuditKind, CaseStatus, StepStatus
from policy.model import Evaluation, Outcome, Policy
from policy.names import name_of

# The case statuses an amendment may not touch: the source or an admin ended them for good.
UNAMENDABLE = (CaseStatus.WITHDRAWN, CaseStatus.EXPIRED, CaseStatus.REVOKED)


@dataclass(frozen=True, slots=True)
class Amendment:
    """The new request (normalized: the requester by id) and what policy makes of it."""

    request: Mapping[str, Any]
    request_hash: str
    evaluation: Evaluation
    changes: tuple[FieldChange, ...]
    reasons: tuple[str, ...]  # why it is material; empty: the approvals stand
    revision: int | None = None
    aggregates: Mapping[str, Any] | None = None  # what the evaluation counted (recorded)

    @property
    def material(self) -> bool:
        return bool(self.reasons)


def evaluated_fields(policy: Policy, evaluation: Evaluation) -> dict[str, Any]:
    """What a case keeps of its evaluation (the rules that fired and were skipped, with
    their policy references, for the card)."""
    refs = {rule.id: rule.ref for rule in policy.rules}
    return {
        "outcome": evaluation.outcome.value,
        "rules": [
            {
                "id": hit.rule_id,
                "ref": hit.ref,
                "url": hit.url,
                "flags": list(hit.flags),
                "why": hit.explanation,
            }
            for hit in evaluation.fired
        ],
        "skipped_rules": [
            {"id": skip.rule_id, "reason": skip.reason, "ref": refs.get(skip.rule_id)}
            for skip in evaluation.skipped
        ],
        "flags": list(evaluation.flags),
        "rationale_required": evaluation.rationale_required,
        "policy_version": evaluation.policy_version,
        "basis": evaluation.basis,
    }


def evaluation_data(
    evaluation: Evaluation, aggregates: Mapping[str, Any] | None = None
) -> AuditData:
    """What the policy.evaluated event records of an evaluation (and the aggregates it read)."""
    return AuditData(
        outcome=evaluation.outcome.value,
        basis=evaluation.basis,
        fired=tuple(hit.rule_id for hit in evaluation.fired),
        skipped=tuple(skip.rule_id for skip in evaluation.skipped),
        flags=evaluation.flags,
        route=tuple({"tier": s.tier, "approvers": list(s.approvers)} for s in evaluation.route),
        aggregates=aggregates or None,
    )


def live_route(case: Case) -> tuple[str, ...]:
    """The tiers of the case's route as it stands (superseded steps are history)."""
    return tuple(s.tier for s in case.steps if s.status is not StepStatus.SUPERSEDED)


def amendment_text(changes: Sequence[FieldChange], currency: str | None) -> str:
    return "; ".join(change.describe(currency) for change in changes) or "no field changed"


def amend(policy: Policy, case: Case, actor: Actor, amendment: Amendment, now: datetime) -> Change:
    draft = Draft(case, policy, now)
    request = amendment.request
    evaluation = amendment.evaluation
    draft.set_case(
        code=str(request["code"]),
        title=str(request["title"]),
        requester=str(request["requester"]),
        amount=request.get("amount"),
        currency=request.get("currency"),
        request=dict(request),
        request_hash=amendment.request_hash,
        **evaluated_fields(policy, evaluation),
    )
    what = amendment_text(amendment.changes, draft.record.currency)
    data = AuditData(
        changes=tuple(c.to_json() for c in amendment.changes),
        material=amendment.material,
        reasons=amendment.reasons or None,
        revision=amendment.revision,
        request_hash=amendment.request_hash,
    )
    draft.event(actor, AuditKind.CASE_AMENDED, rationale=what, data=data)
    evaluated = evaluation_data(evaluation, amendment.aggregates)
    draft.event(POLICY, AuditKind.POLICY_EVALUATED, data=evaluated)
    draft.update_cards()
    by = name_of(policy, actor.id).removeprefix("intake:")  # a source by its own name
    if not amendment.material:
        return draft.finish(f"{case.ref} amended ({what}); the approvals given stand.")

    involved = _involved(case)
    for step in case.steps:
        if step.status is not StepStatus.SUPERSEDED:
            draft.set_step(
                step,
                status=StepStatus.SUPERSEDED,
                closed_at=step.closed_at or now,
                next_action_at=None,
            )
    why = "; ".join(amendment.reasons)
    if evaluation.outcome is Outcome.ROUTE:
        draft.set_case(status=CaseStatus.PENDING, closed_at=None)
        if case.status.is_final:
            reopened = AuditData(previous_status=case.status.value)
            draft.event(actor, AuditKind.CASE_REOPENED, rationale=why, data=reopened)
        first = evaluation.route[0].tier if evaluation.route else "its first tier"
        after = f"Approvals given before no longer stand ({why}); it starts again at {first}."
    else:
        status = (
            CaseStatus.APPROVED if evaluation.outcome is Outcome.APPROVE else CaseStatus.REJECTED
        )
        draft.set_case(status=status, closed_at=now)
        reasons = "; ".join(hit.ref or hit.rule_id for hit in evaluation.deciding_rules)
        decided = AuditData(case_hash=amendment.request_hash)
        draft.event(POLICY, CASE_ENDING[status], rationale=reasons, data=decided)
        after = f"Approvals given before no longer stand ({why}); it is {status.value} by policy."
    note = f"{case.ref} ({draft.record.title}) was amended by {by}: {what}. {after}"
    draft.notify([p for p in involved if p != actor.id], note)
    return draft.finish(note)


def _involved(case: Case) -> tuple[str, ...]:
    """Who had the case in hand: the requester, the approvers of its current step, and
    everyone who voted on it."""
    current = case.current_step
    people = [case.requester, *(current.approvers if current is not None else ())]
    people += [v.person for v in case.votes]
    return tuple(dict.fromkeys(people))

"""A case as the intake API returns it, built through `bot.api_models.CaseOut` (the model the
OpenAPI document describes)."""

from __future__ import annotations

from typing import Any

from bot.api_models import CaseOut, HistoryOut, RuleOut, SkippedRuleOut, StepOut
from handlers.queries import CaseDetails
from policy.model import Outcome


def case_out(details: CaseDetails) -> CaseOut:
    case = details.case
    return CaseOut(
        id=case.ref,
        status=case.status,
        outcome=Outcome(case.outcome),
        code=case.code,
        title=case.title,
        requester=case.requester,
        amount=case.amount,
        currency=case.currency,
        route=[
            StepOut(
                tier=step.tier,
                approvers=list(step.approvers),
                mode=step.mode,
                required=step.required,
                status=step.status,
                due_at=step.due_at,
                policy_version=step.policy_version,
            )
            for step in details.steps
        ],
        rules=[
            RuleOut(
                id=rule["id"],
                ref=rule.get("ref"),
                url=rule.get("url"),
                flags=rule.get("flags") or [],
                why=rule.get("why") or "",
            )
            for rule in case.rules
        ],
        skipped_rules=[
            SkippedRuleOut(id=skip["id"], reason=skip.get("reason") or "", ref=skip.get("ref"))
            for skip in case.skipped_rules
        ],
        flags=case.flags,
        rationale_required=case.rationale_required,
        policy_version=case.policy_version,
        created_at=case.created_at,
        closed_at=case.closed_at,
        request=case.request,
        history=[
            HistoryOut(
                at=event.at,
                actor=event.actor,
                action=event.action,
                rationale=event.rationale,
                platform=event.platform,
            )
            for event in details.history
        ],
    )


def case_json(details: CaseDetails) -> dict[str, Any]:
    return case_out(details).model_dump(mode="json")

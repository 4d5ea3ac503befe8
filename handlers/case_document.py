"""The case document: a case as the intake API returns it and as a webhook carries it.

Pydantic models, so that `bot.openapi` describes exactly what the server sends (its
`webhooks` section too), built from `CaseDetails`. They live in handlers, below the edges,
because a webhook's body is a snapshot taken inside the transaction of the change it
announces (`handlers.recording`), not at delivery time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from handlers.queries import CaseDetails
from policy.lifecycle import CaseStatus, StepStatus
from policy.model import Outcome
from policy.webhook_events import WebhookType
from storage.audit import format_time

# Every moment the API sends: UTC, microseconds, `Z` (2026-03-02T13:00:00.000000Z).
Timestamp = Annotated[
    datetime,
    PlainSerializer(format_time, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class OutModel(BaseModel):
    # Forbidding extras puts `additionalProperties: false` in the document: a field the
    # server sends but does not describe is a test failure, not a surprise for a client.
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepOut(OutModel):
    tier: str
    approvers: list[str]
    mode: str = Field(description="any, all, or a number of approvals")
    required: int = Field(description="approvals the step needs")
    status: StepStatus
    due_at: Timestamp | None
    policy_version: str


class RuleOut(OutModel):
    """A rule that fired: its policy reference and why."""

    id: str
    ref: str | None
    url: str | None
    flags: list[str]
    why: str


class SkippedRuleOut(OutModel):
    """A rule that could not be evaluated on the request (a field it needs is absent)."""

    id: str
    reason: str
    ref: str | None


class HistoryOut(OutModel):
    at: Timestamp
    actor: str = Field(description="a person id, or system:NAME (system:intake:SOURCE)")
    action: str = Field(description="the audit event: case.filed, decision.approved, ...")
    rationale: str | None
    platform: str | None


class CaseOut(OutModel):
    """A case with its route and history, as every route of the API returns it."""

    id: str = Field(pattern=r"^EXC-[0-9]{6,}$", examples=["EXC-000123"])
    status: CaseStatus
    outcome: Outcome = Field(description="what policy decided before any human saw it")
    code: str
    title: str
    requester: str = Field(description="the requester's person id")
    amount: float | None
    currency: str | None
    route: list[StepOut]
    rules: list[RuleOut]
    skipped_rules: list[SkippedRuleOut]
    flags: list[str]
    rationale_required: bool
    policy_version: str
    created_at: Timestamp
    closed_at: Timestamp | None
    request: dict[str, Any] = Field(description="the request as filed, requester as an id")
    history: list[HistoryOut]


class WebhookEvent(OutModel):
    """What a webhook receives: the kind of change, when, and the case as it is now."""

    type: WebhookType
    timestamp: Timestamp
    data: CaseOut


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

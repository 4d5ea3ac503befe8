"""A case as the intake API returns it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers.queries import CaseDetails
from storage.audit import format_time


def _time(at: datetime | None) -> str | None:
    return format_time(at) if at is not None else None


def case_json(details: CaseDetails) -> dict[str, Any]:
    case = details.case
    return {
        "id": case.ref,
        "status": case.status.value,
        "outcome": case.outcome,
        "code": case.code,
        "title": case.title,
        "requester": case.requester,
        "amount": case.amount,
        "currency": case.currency,
        "route": [
            {
                "tier": step.tier,
                "approvers": list(step.approvers),
                "mode": step.mode,
                "required": step.required,
                "status": step.status.value,
                "due_at": _time(step.due_at),
                "policy_version": step.policy_version,
            }
            for step in details.steps
        ],
        "rules": case.rules,
        "skipped_rules": case.skipped_rules,
        "flags": case.flags,
        "rationale_required": case.rationale_required,
        "policy_version": case.policy_version,
        "created_at": _time(case.created_at),
        "closed_at": _time(case.closed_at),
        "request": case.request,
        "history": [
            {
                "at": format_time(event.at),
                "actor": event.actor,
                "action": event.action,
                "rationale": event.rationale,
                "platform": event.platform,
            }
            for event in details.history
        ],
    }

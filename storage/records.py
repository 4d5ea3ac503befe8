"""What the storage hands back: frozen records, and the lifecycle vocabulary of a case."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CASE_PREFIX = "EXC-"
_CASE_REF = re.compile(r"^\s*(?:EXC-?)?0*(\d{1,9})\s*$", re.IGNORECASE)


class CaseStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def is_final(self) -> bool:
        return self is not CaseStatus.PENDING


class StepStatus(enum.StrEnum):
    WAITING = "waiting"  # a later tier, not open yet
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # the case ended before this step was decided


class Action(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_INFO = "request_info"
    COMMENT = "comment"


def case_ref(case_id: int) -> str:
    return f"{CASE_PREFIX}{case_id:06d}"


def parse_case_ref(text: str) -> int | None:
    """`EXC-000123`, `exc-123` or `123` -> 123; anything else -> None."""
    match = _CASE_REF.match(text)
    if match is None:
        return None
    number = int(match.group(1))
    return number if number > 0 else None


@dataclass(frozen=True, slots=True)
class CaseRecord:
    id: int
    status: CaseStatus
    code: str
    title: str
    requester: str
    amount: float | None
    currency: str | None
    request: dict[str, Any]
    outcome: str
    rules: list[dict[str, Any]]
    skipped_rules: list[dict[str, Any]]
    flags: list[str]
    rationale_required: bool
    policy_version: str
    source: str | None
    external_id: str | None
    request_hash: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int

    @property
    def ref(self) -> str:
        return case_ref(self.id)


@dataclass(frozen=True, slots=True)
class StepRecord:
    id: int
    case_id: int
    position: int
    tier: str
    mode: str
    required: int
    approvers: tuple[str, ...]
    status: StepStatus
    opened_at: datetime | None
    due_at: datetime | None
    closed_at: datetime | None
    policy_version: str
    version: int
    # Where the step is in its overdue plan (see policy.overdue).
    next_action_at: datetime | None = None
    reminders_sent: int = 0
    escalated_at: datetime | None = None  # its approvers' managers were asked to step in
    timeout_level: int = 0  # how many times it timed out and was rerouted

    @property
    def escalated(self) -> bool:
        return self.escalated_at is not None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    id: int
    case_id: int
    step_id: int
    person: str
    on_behalf_of: str | None
    action: Action
    rationale: str | None
    platform: str
    at: datetime

"""The stored parts of a case, as plain frozen records: the case itself, its steps, its votes.

`storage` reads and writes them; `policy.case` assembles them into one aggregate and makes
every change to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from policy.lifecycle import Action, CaseStatus, StepStatus, case_ref


class Basis:
    """How policy reached the case's outcome (`CaseRecord.basis`)."""

    RULES = "rules"  # rules fired and decided it
    DEFAULT = "default"  # no rule fired: `defaults.route`
    WITHHELD = "withheld"  # an auto-approval held back because a rule could not be evaluated


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
    due_at: datetime | None = None  # the taxonomy code's SLA for the whole case
    basis: str = Basis.RULES

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
    clock_started_at: datetime | None = None  # reminders count from here (opening, reroute)
    former_approvers: tuple[str, ...] = ()  # had it and let it time out: never handed it again

    @property
    def escalated(self) -> bool:
        return self.escalated_at is not None

    @property
    def clock_start(self) -> datetime | None:
        return self.clock_started_at or self.opened_at


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A vote on a step. `id` is 0 until storage has written it."""

    id: int
    case_id: int
    step_id: int
    person: str
    on_behalf_of: str | None
    action: Action
    rationale: str | None
    platform: str
    at: datetime

"""The templates the intake floor fills in: the policy-derived part of what a filing writes.

`bench.intake_probe` learns them by filing through the handler; `bench.intake_floor` copies
them, putting in what differs from case to case where a mark stands for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

REF_MARK = "\x00REF\x00"  # stands for the case's ref in a message template's payload
# In an event template's data: the case's canonical request JSON and its SHA-256 (case.filed
# records them, decisions the hash), which differ from case to case.
REQUEST_MARK = "\x00REQUEST\x00"
HASH_MARK = "\x00HASH\x00"
# In policy.evaluated's data: the aggregates' values (the floor reads its own); in the item's
# event: its evidence; in its messages: its ref and its id.
AGGREGATES_MARK = "\x00AGGREGATES\x00"
EVIDENCE_MARK = "\x00EVIDENCE\x00"
ITEM_MARK = "\x00ITEM\x00"
ITEM_ID_MARK = "\x00ITEM_ID\x00"


@dataclass(frozen=True, slots=True)
class StepTemplate:
    position: int
    tier: str
    mode: str
    required: int
    status: str
    due_after: timedelta | None  # None: the step is not open yet (no opened_at, no due_at)
    approvers: tuple[str, ...]
    next_action_after: timedelta | None = None  # when the overdue sweep first looks at it


@dataclass(frozen=True, slots=True)
class EventTemplate:
    actor: str
    action: str
    step_position: int | None  # the step whose id the event names
    rationale: str | None
    policy_version: str | None
    platform: str | None
    data_json: str


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    kind: str
    recipient: str | None
    payload: str  # JSON text, REF_MARK standing for the case's ref
    status: str
    attempts: int

    @property
    def tail(self) -> tuple[str, int]:
        return self.status, self.attempts


@dataclass(frozen=True, slots=True)
class CaseTemplate:
    """The policy-derived part of a case's rows: what the floor copies instead of evaluating."""

    status: str
    outcome: str
    rules: str
    skipped_rules: str
    flags: str
    rationale_required: int
    policy_version: str
    closed: bool
    due_after: timedelta | None  # the case's own due time (its code's SLA) after filing
    basis: str
    steps: tuple[StepTemplate, ...]
    events: tuple[EventTemplate, ...]
    messages: tuple[MessageTemplate, ...]


@dataclass(frozen=True, slots=True)
class AggregateTemplate:
    """One of the policy's aggregates, as the floor's raw query needs it."""

    id: str
    window: timedelta
    match: tuple[str, ...]  # request fields (`supplier.id`: one key deep), currency last
    named: int  # the newest related case ids it records


@dataclass(frozen=True, slots=True)
class OpeningTemplate:
    """What the probe's filing that crossed the threshold wrote for the remediation item,
    besides the evidence (the floor builds that from the cases it counted)."""

    opened_at: datetime  # the run files the same cases at the same times: it opens then too
    owner: str
    due_after: timedelta
    next_action_after: timedelta | None
    playbook: str | None
    event: EventTemplate  # its data with EVIDENCE_MARK
    messages: tuple[MessageTemplate, ...]  # no case; ITEM_MARK, ITEM_ID_MARK in the payloads


@dataclass(frozen=True, slots=True)
class RemediationTemplate:
    """The code's remediation threshold: `after` cases of the code within `within`."""

    code: str
    after: int
    within: timedelta
    opening: OpeningTemplate | None  # None: no item opened within the probe's filings

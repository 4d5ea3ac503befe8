"""What a person's digest lists (pure): the cases whose current step waits for their decision,
as `/approvals` lists them, and the open remediation items they own; oldest first."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from policy.case import Case
from policy.digest import CASE, REMEDIATION, DigestLine, digest_lines
from policy.model import Policy
from policy.remediation import ItemStatus
from policy.remediation_plan import RemediationItem


def waits_for(policy: Policy, case: Case, person: str) -> bool:
    """Does the case's current step wait for `person`: on its route, or the manager of an
    escalated step, who may press its buttons now (and has not voted)?"""
    step = case.current_step
    if case.status.is_final or step is None:
        return False
    if person not in step.approvers and not step.escalated:
        return False
    return case.may_press(policy, person).allowed


def case_line(case: Case, now: datetime) -> DigestLine | None:
    step = case.current_step
    if step is None:
        return None
    since = step.clock_start or case.record.created_at
    overdue = step.due_at is not None and now >= step.due_at
    return DigestLine(
        CASE, case.record.id, case.record.ref, case.record.title, since, step.due_at, overdue
    )


def item_line(item: RemediationItem, now: datetime) -> DigestLine:
    return DigestLine(
        REMEDIATION,
        item.id,
        item.ref,
        f"Remediate {item.code}: {len(item.evidence.cases)} cases",
        item.opened_at,
        item.due_at,
        now >= item.due_at,
    )


def person_digest(
    policy: Policy,
    person: str,
    cases: Sequence[Case],
    items: Iterable[RemediationItem],
    now: datetime,
) -> tuple[DigestLine, ...]:
    """Everything waiting for `person`, oldest first (empty: no digest for them)."""
    lines = [
        line
        for case in cases
        if waits_for(policy, case, person) and (line := case_line(case, now)) is not None
    ]
    lines += [
        item_line(item, now)
        for item in items
        if item.owner == person and item.status is not ItemStatus.CLOSED
    ]
    return digest_lines(lines)

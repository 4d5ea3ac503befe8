"""A case as one whole: `load_case` reads the `policy.case.Case` aggregate (the case, its steps
and votes) and `save_case` writes what a transition changed.

The save is compare-and-set on the case's `version` (storage.cases.update_case): a zero row
count means someone else changed the case first; the caller rolls back and tries again on
fresh state. That is what makes two simultaneous presses safe wherever writers run at once
(on PostgreSQL the second UPDATE waits on the first's row lock, then re-checks the version
and matches nothing); the unique (step, person) of `decisions` backs it up, so one person can
never vote twice on a step.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from policy.case import Case
from storage import cases
from storage.records import CaseStatus, StepStatus
from storage.tables import steps


async def load_case(conn: AsyncConnection, case_id: int) -> Case | None:
    """One case with its steps and votes, or None."""
    record = await cases.get_case(conn, case_id)
    if record is None:
        return None
    return Case(
        record,
        tuple(await cases.steps_for_case(conn, case_id)),
        tuple(await cases.decisions_for_case(conn, case_id)),
    )


_CASE_FIELDS = (
    "status",
    "closed_at",
    "updated_at",
    "due_at",
    # An amendment replaces the request and what policy made of it.
    "code",
    "title",
    "requester",
    "amount",
    "currency",
    "request",
    "request_hash",
    "outcome",
    "rules",
    "skipped_rules",
    "flags",
    "rationale_required",
    "policy_version",
    "basis",
)
_STEP_FIELDS = (
    "status",
    "required",
    "opened_at",
    "due_at",
    "closed_at",
    "policy_version",
    "next_action_at",
    "reminders_sent",
    "escalated_at",
    "timeout_level",
    "clock_started_at",
)


def _column_value(value: Any) -> Any:
    return value.value if isinstance(value, StepStatus | CaseStatus) else value


async def save_case(conn: AsyncConnection, before: Case, after: Case) -> bool:
    """Write what changed from `before` to `after`; False (nothing written that counts:
    the caller rolls back) if the case is no longer at the version `before` read."""
    if after == before:
        return True
    changed = {
        name: _column_value(getattr(after.record, name))
        for name in _CASE_FIELDS
        if getattr(after.record, name) != getattr(before.record, name)
    }
    if not await cases.update_case(conn, before.record, **changed):
        return False
    old_steps = {s.id: s for s in before.steps}
    for step in after.steps:
        old = old_steps[step.id]
        if step == old:
            continue
        values = {
            name: _column_value(getattr(step, name))
            for name in _STEP_FIELDS
            if getattr(step, name) != getattr(old, name)
        }
        if step.former_approvers != old.former_approvers:
            values["former_approvers"] = list(step.former_approvers)
        await conn.execute(
            update(steps).where(steps.c.id == step.id).values(version=step.version, **values)
        )
        if step.approvers != old.approvers:
            await cases.replace_assignments(conn, step, step.approvers)
    for vote in after.votes:
        if vote.id == 0:
            step = next(s for s in after.steps if s.id == vote.step_id)
            await cases.insert_decision(
                conn,
                step=step,
                person=vote.person,
                on_behalf_of=vote.on_behalf_of,
                action=vote.action,
                rationale=vote.rationale,
                platform=vote.platform,
                now=vote.at,
            )
    return True

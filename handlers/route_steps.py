"""A route put in place: the steps of an evaluation inserted, the first opened on its tier's
clock and announced. Filing does it for a new case, a material amendment for a case that
starts again."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from policy.actor import POLICY
from policy.case_draft import Draft
from policy.case_flow import Opening, announce_opening
from policy.model import Evaluation, Policy
from policy.overdue import opening_schedule
from policy.routing import Staffing
from storage import cases
from storage.cases import NewStep
from storage.records import StepRecord, StepStatus


async def insert_route(
    conn: AsyncConnection,
    policy: Policy,
    case_id: int,
    evaluation: Evaluation,
    now: datetime,
    after_position: int = 0,
) -> StepRecord | None:
    """Insert the evaluation's route after `after_position`; the first step opens now.
    Returns the first step (None for a route with no steps)."""
    new_steps = [
        NewStep(
            position=position,
            tier=step.tier,
            mode=str(step.mode),
            required=step.required,
            approvers=step.approvers,
            status=StepStatus.WAITING,
            opened_at=None,
            due_at=None,
        )
        for position, step in enumerate(evaluation.route, start=after_position + 1)
    ]
    if not new_steps:
        return None
    schedule = opening_schedule(policy.tier(new_steps[0].tier), policy.calendar, now)
    first = new_steps[0] = dataclasses.replace(
        new_steps[0],
        status=StepStatus.OPEN,
        opened_at=now,
        due_at=schedule.due_at,
        next_action_at=schedule.next_action_at,
        clock_started_at=now,
    )
    step_ids = await cases.insert_steps(conn, case_id, new_steps, evaluation.policy_version)
    return StepRecord(
        id=step_ids[0],
        case_id=case_id,
        position=first.position,
        tier=first.tier,
        mode=first.mode,
        required=first.required,
        approvers=first.approvers,
        status=first.status,
        opened_at=now,
        due_at=schedule.due_at,
        closed_at=None,
        policy_version=evaluation.policy_version,
        version=1,
        next_action_at=schedule.next_action_at,
        clock_started_at=now,
    )


def announce_first(draft: Draft, first: StepRecord, evaluation: Evaluation) -> None:
    """The events and messages of the route's first step opening (cards to its approvers)."""
    route = evaluation.route[0]
    staffing = Staffing(route.approvers, route.required, route.wanted)
    schedule = opening_schedule(draft.policy.tier(first.tier), draft.policy.calendar, draft.now)
    announce_opening(draft, first, Opening(staffing, schedule), POLICY)

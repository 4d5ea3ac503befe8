"""What the program's KPIs read: the cases filed since the window opened and every case open
now, each whole (steps, votes) with its audit events, in five set-based queries whatever the
number of cases. Run it inside one read transaction (`Database.reading`), so the cases, their
steps and their events are one snapshot.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from policy.audit_data import AuditData
from policy.case import Case
from policy.kpi_approvals import CaseEvent, CaseSnapshot
from storage.cases import case_record, decision_record, step_record
from storage.records import CaseStatus, DecisionRecord, StepRecord
from storage.tables import assignments, audit_events, cases, decisions, steps


async def kpi_cases(conn: AsyncConnection, since: datetime) -> list[CaseSnapshot]:
    """The cases filed at or after `since`, and those still pending, oldest id first.

    Events are those at or after `since`: every event of a case filed in the window (none
    precedes its filing); a pending case filed earlier comes without its older ones, which
    no figure of the window reads."""
    wanted = or_(cases.c.created_at >= since, cases.c.status == CaseStatus.PENDING.value)
    ids = select(cases.c.id).where(wanted).scalar_subquery()
    records = [
        case_record(row)
        for row in await conn.execute(select(cases).where(wanted).order_by(cases.c.id))
    ]
    people: dict[int, list[str]] = defaultdict(list)
    for row in await conn.execute(
        select(assignments.c.step_id, assignments.c.person)
        .where(assignments.c.case_id.in_(ids))
        .order_by(assignments.c.step_id, assignments.c.ordinal)
    ):
        people[row.step_id].append(row.person)
    steps_of: dict[int, list[StepRecord]] = defaultdict(list)
    for row in await conn.execute(
        select(steps).where(steps.c.case_id.in_(ids)).order_by(steps.c.case_id, steps.c.position)
    ):
        steps_of[row.case_id].append(step_record(row, tuple(people[row.id])))
    votes_of: dict[int, list[DecisionRecord]] = defaultdict(list)
    for row in await conn.execute(
        select(decisions).where(decisions.c.case_id.in_(ids)).order_by(decisions.c.id)
    ):
        votes_of[row.case_id].append(decision_record(row))
    events_of = await _events(conn, since, {record.ref: record.id for record in records})
    return [
        CaseSnapshot(
            Case(record, tuple(steps_of[record.id]), tuple(votes_of[record.id])),
            tuple(events_of[record.id]),
        )
        for record in records
    ]


async def _events(
    conn: AsyncConnection, since: datetime, ids_by_ref: dict[str, int]
) -> dict[int, list[CaseEvent]]:
    """The events at or after `since` of the cases in `ids_by_ref`, by case id, in chain
    order. (Matching on the case's ref in SQL would need string formatting the two databases
    spell differently; the window's events are read once and sorted here.)"""
    query = (
        select(
            audit_events.c.case_ref,
            audit_events.c.action,
            audit_events.c.actor,
            audit_events.c.at,
            audit_events.c.data,
            audit_events.c.step_id,
        )
        .where(audit_events.c.case_ref.is_not(None), audit_events.c.at >= since)
        .order_by(audit_events.c.seq)
    )
    found: dict[int, list[CaseEvent]] = defaultdict(list)
    for row in await conn.execute(query):
        case_id = ids_by_ref.get(row.case_ref)
        if case_id is not None:
            data = AuditData.read(json.loads(row.data))
            found[case_id].append(CaseEvent(row.action, row.actor, row.at, data, row.step_id))
    return found

"""Reading and writing cases, their steps, assignments and decisions, row by row.

The case as one whole (`policy.case.Case`), loaded and saved by compare-and-set on its
version, is storage.case_state. `update_case` is that compare-and-set: the update names the
version it read, and a zero row count means someone else changed the case first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.records import (
    Action,
    CaseRecord,
    CaseStatus,
    DecisionRecord,
    StepRecord,
    StepStatus,
)
from storage.tables import assignments, cases, decisions, steps


@dataclass(frozen=True, slots=True)
class NewCase:
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
    idempotency_key: str | None
    request_hash: str
    due_at: datetime | None = None
    basis: str = "rules"


@dataclass(frozen=True, slots=True)
class NewStep:
    position: int
    tier: str
    mode: str
    required: int
    approvers: tuple[str, ...]
    status: StepStatus
    opened_at: datetime | None
    due_at: datetime | None
    next_action_at: datetime | None = None  # when the overdue sweep first looks at it
    clock_started_at: datetime | None = None


def case_record(row: Any) -> CaseRecord:
    return CaseRecord(
        id=row.id,
        status=CaseStatus(row.status),
        code=row.code,
        title=row.title,
        requester=row.requester,
        amount=row.amount,
        currency=row.currency,
        request=row.request,
        outcome=row.outcome,
        rules=row.rules,
        skipped_rules=row.skipped_rules,
        flags=row.flags,
        rationale_required=row.rationale_required,
        policy_version=row.policy_version,
        source=row.source,
        external_id=row.external_id,
        request_hash=row.request_hash,
        created_at=row.created_at,
        updated_at=row.updated_at,
        closed_at=row.closed_at,
        version=row.version,
        due_at=row.due_at,
        basis=row.basis,
    )


# Built once: the filing path runs these for every case, and rebuilding a statement costs
# more than executing it on SQLite.
_INSERT_CASE = insert(cases).returning(*cases.c)
_INSERT_STEP = insert(steps).returning(steps.c.id, steps.c.position)
_INSERT_ASSIGNMENTS = insert(assignments)


async def insert_case(conn: AsyncConnection, new: NewCase, now: datetime) -> CaseRecord:
    """Insert a case and return it as stored (one statement, thanks to RETURNING)."""
    values = {name: getattr(new, name) for name in NewCase.__dataclass_fields__}
    values.update(
        status=new.status.value,
        created_at=now,
        updated_at=now,
        closed_at=now if new.status.is_final else None,
        version=1,
    )
    result = await conn.execute(_INSERT_CASE, values)
    return case_record(result.one())


async def insert_steps(
    conn: AsyncConnection, case_id: int, new_steps: Sequence[NewStep], policy_version: str
) -> list[int]:
    """Insert a case's steps and their assignments; returns the step ids in route order."""
    if not new_steps:
        return []
    result = await conn.execute(
        _INSERT_STEP,
        [
            {
                "case_id": case_id,
                "position": step.position,
                "tier": step.tier,
                "mode": step.mode,
                "required": step.required,
                "status": step.status.value,
                "opened_at": step.opened_at,
                "due_at": step.due_at,
                "next_action_at": step.next_action_at,
                "clock_started_at": step.clock_started_at,
                "former_approvers": [],
                "reminders_sent": 0,
                "timeout_level": 0,
                "policy_version": policy_version,
                "version": 1,
            }
            for step in new_steps
        ],
    )
    id_by_position = {row.position: row.id for row in result}
    ids = [id_by_position[step.position] for step in new_steps]
    await conn.execute(
        _INSERT_ASSIGNMENTS,
        [
            {"step_id": step_id, "case_id": case_id, "person": person, "ordinal": i}
            for step_id, step in zip(ids, new_steps, strict=True)
            for i, person in enumerate(step.approvers)
        ],
    )
    return ids


async def _insert_assignments(
    conn: AsyncConnection, case_id: int, step_id: int, people: Sequence[str]
) -> None:
    if people:
        await conn.execute(
            _INSERT_ASSIGNMENTS,
            [
                {"step_id": step_id, "case_id": case_id, "person": person, "ordinal": i}
                for i, person in enumerate(people)
            ],
        )


MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL: a larger one names no case


async def get_case(conn: AsyncConnection, case_id: int) -> CaseRecord | None:
    if not 0 < case_id <= MAX_ID:
        return None  # asking the database would be an error, not an answer
    row = (await conn.execute(select(cases).where(cases.c.id == case_id))).first()
    return case_record(row) if row else None


async def find_by_idempotency_key(conn: AsyncConnection, key: str) -> CaseRecord | None:
    row = (await conn.execute(select(cases).where(cases.c.idempotency_key == key))).first()
    return case_record(row) if row else None


# Namespace of the per-person advisory locks of chat filings (`lock_repeat_filing`).
_REPEAT_LOCKS = 0x72657074
_LOCK_REPEAT = text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))")


async def lock_repeat_filing(conn: AsyncConnection, requester: str, request_hash: str) -> None:
    """Queue the filings of one person's same content until this transaction ends, so a
    double submit from chat (no Idempotency-Key, no external id: no unique key to settle it)
    finds the first one's case. On PostgreSQL an advisory lock on the content's key, which
    other filings do not share; SQLite has one writer at a time anyway."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_LOCK_REPEAT, {"space": _REPEAT_LOCKS, "key": requester + request_hash})


async def find_recent_filing(
    conn: AsyncConnection, requester: str, request_hash: str, since: datetime
) -> CaseRecord | None:
    """The newest case `requester` filed with exactly this content at or after `since`."""
    row = (
        await conn.execute(
            select(cases)
            .where(
                cases.c.requester == requester,
                cases.c.request_hash == request_hash,
                cases.c.created_at >= since,
            )
            .order_by(cases.c.id.desc())
            .limit(1)
        )
    ).first()
    return case_record(row) if row else None


async def filed_since(conn: AsyncConnection, since: datetime) -> list[Any]:
    """(id, request, created_at, policy_version) of the cases filed at or after `since`,
    oldest first: what a backtest replays."""
    query = (
        select(cases.c.id, cases.c.request, cases.c.created_at, cases.c.policy_version)
        .where(cases.c.created_at >= since)
        .order_by(cases.c.id)
    )
    return list((await conn.execute(query)).all())


async def find_by_external_id(
    conn: AsyncConnection, source: str, external_id: str
) -> CaseRecord | None:
    row = (
        await conn.execute(
            select(cases).where(cases.c.source == source, cases.c.external_id == external_id)
        )
    ).first()
    return case_record(row) if row else None


def step_record(row: Any, approvers: tuple[str, ...]) -> StepRecord:
    return StepRecord(
        id=row.id,
        case_id=row.case_id,
        position=row.position,
        tier=row.tier,
        mode=row.mode,
        required=row.required,
        approvers=approvers,
        status=StepStatus(row.status),
        opened_at=row.opened_at,
        due_at=row.due_at,
        closed_at=row.closed_at,
        policy_version=row.policy_version,
        version=row.version,
        next_action_at=row.next_action_at,
        reminders_sent=row.reminders_sent,
        escalated_at=row.escalated_at,
        timeout_level=row.timeout_level,
        clock_started_at=row.clock_started_at,
        former_approvers=tuple(row.former_approvers or ()),
    )


def decision_record(row: Any) -> DecisionRecord:
    return DecisionRecord(
        id=row.id,
        case_id=row.case_id,
        step_id=row.step_id,
        person=row.person,
        on_behalf_of=row.on_behalf_of,
        action=Action(row.action),
        rationale=row.rationale,
        platform=row.platform,
        at=row.at,
    )


async def steps_for_case(conn: AsyncConnection, case_id: int) -> list[StepRecord]:
    step_rows = (
        await conn.execute(
            select(steps).where(steps.c.case_id == case_id).order_by(steps.c.position)
        )
    ).all()
    people: dict[int, list[str]] = defaultdict(list)
    for row in await conn.execute(
        select(assignments.c.step_id, assignments.c.person)
        .where(assignments.c.case_id == case_id)
        .order_by(assignments.c.step_id, assignments.c.ordinal)
    ):
        people[row.step_id].append(row.person)
    return [step_record(row, tuple(people[row.id])) for row in step_rows]


async def decisions_for_case(conn: AsyncConnection, case_id: int) -> list[DecisionRecord]:
    rows = await conn.execute(
        select(decisions).where(decisions.c.case_id == case_id).order_by(decisions.c.id)
    )
    return [decision_record(row) for row in rows]


async def insert_decision(
    conn: AsyncConnection,
    *,
    step: StepRecord,
    person: str,
    on_behalf_of: str | None,
    action: Action,
    rationale: str | None,
    platform: str,
    now: datetime,
) -> None:
    """Record a vote. (step, person) is unique, so a double click cannot vote twice."""
    await conn.execute(
        insert(decisions).values(
            case_id=step.case_id,
            step_id=step.id,
            person=person,
            on_behalf_of=on_behalf_of,
            action=action.value,
            rationale=rationale,
            platform=platform,
            at=now,
        )
    )


async def update_case(conn: AsyncConnection, case: CaseRecord, **values: Any) -> bool:
    """Compare-and-set: applies only if the case is still at the version we read."""
    result = await conn.execute(
        update(cases)
        .where(cases.c.id == case.id, cases.c.version == case.version)
        .values(version=case.version + 1, **values)
    )
    return result.rowcount == 1


async def replace_assignments(
    conn: AsyncConnection, step: StepRecord, people: Sequence[str]
) -> None:
    await conn.execute(delete(assignments).where(assignments.c.step_id == step.id))
    await _insert_assignments(conn, step.case_id, step.id, people)


_CURRENT = (StepStatus.OPEN.value, StepStatus.INFO_REQUESTED.value)


async def open_steps_for(conn: AsyncConnection, person: str) -> list[tuple[int, int]]:
    """(case id, step id) of every current step (open, or waiting for an answer) assigned
    to `person`, oldest case first."""
    rows = await conn.execute(
        select(steps.c.case_id, steps.c.id)
        .join(assignments, assignments.c.step_id == steps.c.id)
        .where(assignments.c.person == person, steps.c.status.in_(_CURRENT))
        .order_by(steps.c.case_id)
    )
    return [(row.case_id, row.id) for row in rows]


async def escalated_open_steps(conn: AsyncConnection) -> list[tuple[int, int]]:
    """(case id, step id) of every open step escalated to its approvers' managers."""
    rows = await conn.execute(
        select(steps.c.case_id, steps.c.id)
        .where(steps.c.status.in_(_CURRENT), steps.c.escalated_at.is_not(None))
        .order_by(steps.c.case_id)
    )
    return [(row.case_id, row.id) for row in rows]


async def cases_requested_by(
    conn: AsyncConnection, person: str, status: CaseStatus | None = None, limit: int = 50
) -> list[CaseRecord]:
    query = select(cases).where(cases.c.requester == person)
    if status is not None:
        query = query.where(cases.c.status == status.value)
    rows = await conn.execute(query.order_by(cases.c.id.desc()).limit(limit))
    return [case_record(row) for row in rows]


async def count_by_status(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(select(cases.c.status, func.count()).group_by(cases.c.status))
    return {row[0]: int(row[1]) for row in rows}

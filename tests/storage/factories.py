"""Small builders for storage tests: cases and steps inserted straight through the repository,
audit events, and the raw SQL a tamperer would need."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.schema import Table

from policy.lifecycle import AuditKind
from storage import audit
from storage.audit import AuditEvent, AuditRecord
from storage.cases import NewCase, NewStep, insert_case, insert_steps
from storage.records import CaseStatus, StepStatus

POLICY_VERSION = "policy-v1"

_BASE_CASE = NewCase(
    status=CaseStatus.PENDING,
    code="PO-MISSING",
    title="Purchase without a purchase order",
    requester="alice",
    amount=12_500.0,
    currency="EUR",
    request={"supplier": {"name": "Acme GmbH", "risk_score": 40}, "amount": 12_500.0},
    outcome="approval",
    rules=[{"id": "po-required", "policy_ref": "PROC-4.2"}],
    skipped_rules=[],
    flags=["no-po"],
    rationale_required=False,
    policy_version=POLICY_VERSION,
    source=None,
    external_id=None,
    idempotency_key=None,
    request_hash="ab" * 32,
)


def new_case(**changes: Any) -> NewCase:
    """A plausible pending case; keyword arguments replace fields."""
    return dataclasses.replace(_BASE_CASE, **changes)


def new_step(
    position: int = 1,
    *,
    approvers: tuple[str, ...] = ("bob",),
    status: StepStatus = StepStatus.OPEN,
    opened_at: datetime | None = None,
    due_at: datetime | None = None,
    tier: str = "manager",
    next_action_at: datetime | None = None,
) -> NewStep:
    return NewStep(
        position=position,
        tier=tier,
        mode="any",
        required=1,
        approvers=approvers,
        status=status,
        opened_at=opened_at,
        due_at=due_at,
        next_action_at=next_action_at,
    )


async def create_case(
    conn: AsyncConnection,
    now: datetime,
    *,
    steps: Sequence[NewStep] = (),
    **changes: Any,
) -> int:
    """Insert a case (and its steps, if given); return the case id."""
    case = await insert_case(conn, new_case(**changes), now)
    if steps:
        await insert_steps(conn, case.id, steps, POLICY_VERSION)
    return case.id


def audit_event(
    action: str = "case.filed",
    *,
    actor: str = "alice",
    case_ref: str | None = "EXC-000001",
    rationale: str | None = None,
    **data: Any,
) -> AuditEvent:
    return AuditEvent(
        actor=actor,
        action=cast(AuditKind, action),  # any label: these tests are about the chain
        case_ref=case_ref,
        step_id=None,
        rationale=rationale,
        policy_version=POLICY_VERSION,
        platform="console",
        data=data,
    )


async def all_events(conn: AsyncConnection) -> list[AuditRecord]:
    return [event async for event in audit.stream_events(conn)]


async def count_rows(conn: AsyncConnection, table: Table) -> int:
    return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


async def allow_audit_tampering(conn: AsyncConnection) -> None:
    """Switch off the append-only triggers, as an attacker with DDL rights could."""
    if conn.dialect.name == "sqlite":
        await conn.execute(text("DROP TRIGGER audit_events_no_update"))
        await conn.execute(text("DROP TRIGGER audit_events_no_delete"))
    else:
        await conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))

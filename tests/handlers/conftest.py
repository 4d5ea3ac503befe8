"""Helpers for filing and counting in handler tests (the policy is tests/data/policy.yaml;
the overdue tests use tests/data/overdue.yaml through the `late` fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from handlers.clock import ManualClock
from handlers.commands import FileException
from handlers.context import Actor, Services
from handlers.filing import FilingResult, file_exception
from policy.loader import load_policy
from policy.model import Policy
from policy.request import ExceptionRequest
from storage.database import Database
from storage.tables import audit_events, cases, decisions, outbox


def person(person_id: str) -> Actor:
    return Actor(person_id, "console")


def request(**fields: Any) -> ExceptionRequest:
    data: dict[str, Any] = {
        "code": "OFF_CONTRACT",
        "title": "Laptops from a new reseller",
        "requester": "rita",
        "amount": 1200.0,
        "currency": "EUR",
    }
    data.update(fields)
    return ExceptionRequest.model_validate(data)


async def file(
    svc: Services, by: str = "rita", key: str | None = None, **fields: Any
) -> FilingResult:
    fields.setdefault("requester", by)
    return await file_exception(svc, person(by), FileException(request(**fields), key))


async def count(db: Database, table: Any) -> int:
    async with db.reading() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


async def counts(db: Database) -> dict[str, int]:
    return {
        "cases": await count(db, cases),
        "decisions": await count(db, decisions),
        "audit": await count(db, audit_events),
        "outbox": await count(db, outbox),
    }


OVERDUE_POLICY = Path(__file__).parent.parent / "data" / "overdue.yaml"


@pytest.fixture(scope="session")
def overdue_policy() -> Policy:
    return load_policy(OVERDUE_POLICY)


@pytest.fixture
def late(db: Database, overdue_policy: Policy, clock: ManualClock) -> Services:
    """Services with the overdue test policy (tiers with reminders, escalation and timeouts)."""
    return Services(db=db, policy=overdue_policy, clock=clock)


async def outbox_rows(db: Database) -> list[tuple[str, str | None, str | None]]:
    """(kind, recipient, text) of every outbox message, oldest first."""
    async with db.reading() as conn:
        rows = await conn.execute(
            select(outbox.c.kind, outbox.c.recipient, outbox.c.payload).order_by(outbox.c.id)
        )
        return [(row.kind, row.recipient, row.payload.get("text")) for row in rows]

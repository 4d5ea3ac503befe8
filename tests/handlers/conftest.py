"""Helpers for filing and counting in handler tests (the policy is tests/data/policy.yaml)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from handlers.commands import FileException
from handlers.context import Actor, Services
from handlers.filing import FilingResult, file_exception
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

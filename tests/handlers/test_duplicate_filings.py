"""Deliveries of one filing arriving at once, on real SQLite and PostgreSQL: one case, and
every caller gets it. On PostgreSQL the filings run side by side (no writers' lock), so the
unique keys decide and the losers re-read; on SQLite they queue for the one writer."""

from __future__ import annotations

import asyncio
from typing import Any

from handlers.commands import FileException
from handlers.context import Actor, Services
from handlers.filing import FilingResult, file_exception
from handlers.queries import case_details
from policy.actor import INTAKE_PREFIX
from policy.loader import load_policy
from storage import audit
from storage import remediation as items
from storage.tables import cases
from tests.handlers.conftest import count, file, request
from tests.handlers.test_remediation import POLICY as REMEDIATION_POLICY

AT_ONCE = 10


async def _verified(svc: Services) -> int:
    async with svc.db.reading() as conn:
        result = await audit.verify(conn)
    assert result.ok, result
    return result.count


def _one_case(results: list[FilingResult]) -> int:
    assert len({r.case.id for r in results}) == 1, "every caller gets the same case"
    assert sum(r.created for r in results) == 1, "exactly one filing created it"
    return results[0].case.id


async def test_one_external_id_filed_ten_times_at_once_is_one_case(services: Services) -> None:
    erp = Actor(f"{INTAKE_PREFIX}erp", "api")

    async def deliver() -> FilingResult:
        return await _file_as(services, erp, source="erp", external_id="evt-1")

    results = list(await asyncio.gather(*(deliver() for _ in range(AT_ONCE))))

    case_id = _one_case(results)
    assert await count(services.db, cases) == 1
    details = await case_details(services, case_id)
    assert [e.action for e in details.history].count("case.filed") == 1
    await _verified(services)


async def test_one_idempotency_key_ten_times_at_once_is_one_case(services: Services) -> None:
    results = list(await asyncio.gather(*(file(services, key="key-1") for _ in range(AT_ONCE))))

    _one_case(results)
    assert await count(services.db, cases) == 1
    await _verified(services)


async def test_a_chat_double_submit_at_once_is_one_case(services: Services) -> None:
    """No key at all: the same person's same content within the repeat window."""
    results = list(await asyncio.gather(*(file(services) for _ in range(5))))

    _one_case(results)
    assert await count(services.db, cases) == 1


async def test_different_filings_at_once_are_all_filed_and_chained(services: Services) -> None:
    results = await asyncio.gather(
        *(file(services, source="erp", external_id=f"evt-{n}") for n in range(AT_ONCE))
    )

    assert all(r.created for r in results)
    assert await count(services.db, cases) == AT_ONCE
    assert await _verified(services) >= 3 * AT_ONCE  # filed, evaluated, step opened each


async def test_filings_reaching_a_threshold_at_once_open_one_item(services: Services) -> None:
    rem = Services(services.db, load_policy(REMEDIATION_POLICY), services.clock)

    def price(n: int) -> dict[str, Any]:
        return {"code": "PRICE_MISMATCH", "title": f"Invoice INV-{n} above the PO"}

    await file(rem, **price(1))
    await file(rem, **price(2))  # the threshold is 3 within 30 days
    await asyncio.gather(*(file(rem, **price(n)) for n in range(3, 3 + 5)))

    async with rem.db.reading() as conn:
        found = await items.list_items(conn, open_only=False)
    assert len(found) == 1
    await _verified(rem)


async def _file_as(svc: Services, actor: Actor, **fields: Any) -> FilingResult:
    return await file_exception(svc, actor, FileException(request(**fields)))

"""Webhooks are written with the change they announce: which ones, where to, with the case
as the API returns it at that moment, and nothing for a change that rolled back."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.amending import amend_exception
from handlers.case_document import case_json
from handlers.clock import ManualClock
from handlers.commands import Decide, Withdraw
from handlers.context import Actor, Services
from handlers.deciding import decide
from handlers.lifecycle import withdraw
from handlers.queries import case_details
from handlers.recording import record
from handlers.sweep import sweep
from policy.effects import AuditEvent, MessageKind, OutgoingMessage
from policy.lifecycle import AuditKind
from policy.loader import parse_policy
from policy.request import ExceptionRequest
from storage.audit import format_time
from storage.records import Action, CaseStatus
from storage.tables import webhook_deliveries
from tests.conftest import START, TEST_POLICY
from tests.handlers.conftest import counts, file, person, request

HOOKS = "https://hooks.example/approvals"
ERP_HOOKS = "https://erp.example/hooks"
ERP = Actor.system("intake:erp", "api")


@pytest.fixture
def hooked(services: Services) -> Services:
    return dataclasses.replace(services, default_webhook_url=HOOKS)


async def queued(svc: Services) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(endpoint, url, type, body) of every webhook message, oldest first."""
    async with svc.db.reading() as conn:
        rows = await conn.execute(select(webhook_deliveries).order_by(webhook_deliveries.c.id))
        return [(r.endpoint, r.url, r.event_type, json.loads(r.payload)) for r in rows]


async def types(svc: Services) -> list[str]:
    return [kind for _, _, kind, _ in await queued(svc)]


async def test_a_filing_queues_filed_with_the_case_as_the_api_returns_it(hooked: Services) -> None:
    case = (await file(hooked)).case
    ((endpoint, url, kind, body),) = await queued(hooked)
    assert (endpoint, url, kind) == ("default", HOOKS, "exception.filed")
    assert body == {
        "type": "exception.filed",
        "timestamp": format_time(START),
        "data": case_json(await case_details(hooked, case.id)),
    }


async def test_a_filing_decided_by_policy_sends_filed_then_approved(hooked: Services) -> None:
    await file(hooked, code="PRICE_MISMATCH", details={"variance_pct": 1.0})
    (_, _, first, filed), (_, _, second, approved) = await queued(hooked)
    assert (first, second) == ("exception.filed", "exception.approved")
    assert filed["data"] == approved["data"]  # one snapshot: the case after the change
    assert filed["data"]["status"] == "approved"


async def test_votes_send_nothing_until_the_status_changes(hooked: Services) -> None:
    case = (await file(hooked, amount=30000.0)).case  # two tiers, rationale required
    await decide(hooked, person("lee"), Decide(case.id, Action.APPROVE, "fine"))
    assert await types(hooked) == ["exception.filed"]
    await decide(hooked, person("maria"), Decide(case.id, Action.APPROVE, "fine"))
    assert await types(hooked) == ["exception.filed", "exception.approved"]
    body = (await queued(hooked))[-1][3]
    assert body["data"]["status"] == "approved"
    assert body["data"]["history"][-1]["action"] == "case.approved"


async def test_questions_withdrawals_and_amendments_are_announced(hooked: Services) -> None:
    asked = (await file(hooked)).case
    await decide(hooked, person("lee"), Decide(asked.id, Action.REQUEST_INFO, "Which PO?"))
    await withdraw(hooked, person("rita"), Withdraw(asked.id, "not needed"))
    po = (await file(hooked, source="erp", external_id="PO-1")).case
    await decide(hooked, person("lee"), Decide(po.id, Action.APPROVE))
    bigger = request(source="erp", external_id="PO-1", amount=2400.0)

    def revise(_stored: Mapping[str, Any]) -> ExceptionRequest:
        return bigger

    await amend_exception(hooked, ERP, po.id, revise)
    assert await types(hooked) == [
        "exception.filed",
        "exception.info_requested",
        "exception.withdrawn",
        "exception.filed",
        "exception.approved",
        "exception.amended",
        "exception.reopened",
    ]
    reopened = (await queued(hooked))[-1][3]["data"]
    assert (reopened["status"], reopened["amount"]) == ("pending", 2400.0)


async def test_the_overdue_sweep_announces_an_expiry(late: Services) -> None:
    svc = dataclasses.replace(late, default_webhook_url=HOOKS)
    await file(svc, details={"route": "lapse"})
    assert isinstance(svc.clock, ManualClock)
    svc.clock.advance(timedelta(days=2))
    await sweep(svc, "sweeper")
    assert await types(svc) == ["exception.filed", "exception.expired"]


async def test_a_source_with_its_own_endpoint_gets_its_cases(services: Services) -> None:
    text = TEST_POLICY.read_text(encoding="utf-8") + (
        f"sources:\n  erp: {{webhook_url: {ERP_HOOKS!r}, secret_env: ERP_WEBHOOK_SECRET}}\n"
    )
    svc = dataclasses.replace(services, policy=parse_policy(text, "p.yaml"))
    await file(svc)  # from chat, and no default endpoint: nowhere to go
    await file(svc, source="erp", external_id="PO-9")
    assert [(e, u, t) for e, u, t, _ in await queued(svc)] == [
        ("erp", ERP_HOOKS, "exception.filed")
    ]
    both = dataclasses.replace(svc, default_webhook_url=HOOKS)
    await file(both, source="sap", external_id="PO-9")
    assert [e for e, _, _, _ in await queued(svc)] == ["erp", "default"]


async def test_no_endpoint_queues_nothing(services: Services) -> None:
    await file(services, code="PRICE_MISMATCH", details={"variance_pct": 1.0})
    assert await queued(services) == []


async def test_a_change_that_rolls_back_queues_nothing(hooked: Services) -> None:
    case = (await file(hooked)).case
    before = await counts(hooked.db)
    withdrawn = AuditEvent(actor="rita", action=AuditKind.CASE_WITHDRAWN, case_ref=case.ref)
    note = OutgoingMessage(MessageKind.NOTIFY, recipient="lee", text="gone")
    seen: list[int] = []

    async def change_that_fails() -> None:
        async with hooked.db.transaction() as conn:
            await record(conn, hooked, [withdrawn], [note], hooked.clock.now())
            seen.append(len(await queued_in(conn)))
            raise RuntimeError("the change failed after recording")

    with pytest.raises(RuntimeError):
        await change_that_fails()
    assert seen == [2]  # written in the transaction, then rolled back with it
    assert await counts(hooked.db) == before
    assert await types(hooked) == ["exception.filed"]
    assert (await case_details(hooked, case.id)).case.status is CaseStatus.PENDING


async def queued_in(conn: AsyncConnection) -> list[Any]:
    return list(await conn.execute(select(webhook_deliveries.c.id)))

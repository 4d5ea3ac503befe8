"""Withdrawing and commenting from the intake API, attachments on a request, and the
Idempotent-Replayed header (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import ClientSession
from sqlalchemy import select

from bot.card_views import build_card_view
from cards.console import render_console
from cards.slack import card_message
from cards.teams_approval import approval_card
from cards.view import Link
from handlers.context import Services
from handlers.queries import case_details
from policy.audit_data import AuditData
from storage.tables import audit_events, outbox
from tests.bot.conftest import auth
from tests.bot.test_intake_api import EVENT
from tests.handlers.conftest import counts

CASE = "/api/v1/exceptions/EXC-000001"
ATTACHMENTS = [
    {"name": "Supplier quote", "url": "https://erp.acme.example/docs/Q-77.pdf"},
    {"name": "Invoice scan", "url": "https://erp.acme.example/docs/INV-5531.pdf"},
]


async def _post(http: ClientSession, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    async with http.post(path, json=body, headers=auth()) as response:
        return response.status, await response.json()


async def _filed(http: ClientSession, **fields: Any) -> dict[str, Any]:
    status, body = await _post(http, "/api/v1/exceptions", {**EVENT, **fields})
    assert status == 201, body
    return body


async def _messages(services: Services) -> list[tuple[str, str | None, Any]]:
    async with services.db.reading() as conn:
        rows = await conn.execute(select(outbox.c.kind, outbox.c.recipient, outbox.c.payload))
        return [(row.kind, row.recipient, row.payload) for row in rows]


async def test_the_source_withdraws_its_case_and_approvers_are_told(
    http: ClientSession, services: Services
) -> None:
    await _filed(http)
    before = len(await _messages(services))
    status, body = await _post(
        http, f"{CASE}/withdraw", {"source": "erp", "reason": "PO cancelled"}
    )
    assert status == 200, body
    assert body["status"] == "withdrawn"
    assert [s["status"] for s in body["route"]] == ["cancelled"]
    ending = body["history"][-1]
    assert ending == {
        "at": ending["at"],
        "actor": "system:intake:erp",
        "action": "case.withdrawn",
        "rationale": "PO cancelled",
        "platform": "api",
    }
    sent = (await _messages(services))[before:]
    assert ("update_cards", None, {}) in sent
    told = {recipient for kind, recipient, _ in sent if kind == "notify"}
    assert told == {"rita", "lee", "dana"}  # the requester and the approvers awaited


async def test_another_source_may_not_withdraw_and_the_refusal_is_audited(
    http: ClientSession, services: Services
) -> None:
    await _filed(http)
    status, body = await _post(http, f"{CASE}/withdraw", {"source": "sap"})
    assert status == 403
    assert "filed by the source 'erp'" in body["error"]
    async with http.get(CASE, headers=auth()) as response:
        assert (await response.json())["status"] == "pending"
    async with services.db.reading() as conn:
        query = select(audit_events.c.action).order_by(audit_events.c.seq)
        actions = (await conn.execute(query)).scalars().all()
    assert actions[-1] == "case.withdraw.refused"


async def test_a_case_filed_without_a_source_cannot_be_withdrawn_by_one(
    http: ClientSession,
) -> None:
    await _filed(http, source=None, external_id=None)
    status, body = await _post(http, f"{CASE}/withdraw", {"source": "erp"})
    assert status == 403
    assert "was not filed by a source" in body["error"]


async def test_withdrawing_a_final_case_is_409(http: ClientSession) -> None:
    await _filed(http)
    assert (await _post(http, f"{CASE}/withdraw", {"source": "erp"}))[0] == 200
    status, body = await _post(http, f"{CASE}/withdraw", {"source": "erp"})
    assert status == 409
    assert "only pending cases can be withdrawn" in body["error"]


async def test_a_comment_from_the_source_is_in_the_history_with_its_author(
    http: ClientSession, services: Services
) -> None:
    await _filed(http)
    note = {"source": "erp", "author": "J. Buyer", "text": "Supplier confirmed the price."}
    status, body = await _post(http, f"{CASE}/comments", note)
    assert status == 201, body
    entry = body["history"][-1]
    assert (entry["actor"], entry["action"], entry["rationale"]) == (
        "system:intake:erp",
        "case.commented",
        "Supplier confirmed the price.",
    )
    async with services.db.reading() as conn:
        query = select(audit_events.c.data).order_by(audit_events.c.seq.desc()).limit(1)
        data = json.loads(str(await conn.scalar(query)))
    assert AuditData.read(data).author == "J. Buyer"
    messages = await _messages(services)
    told = [p["text"] for kind, who, p in messages if kind == "notify" and who == "rita"]
    assert (
        told[-1] == "J. Buyer (intake:erp) commented on EXC-000001: Supplier confirmed the price."
    )
    details = await case_details(services, 1)
    view = build_card_view(services.policy, details, "lee")
    assert view.history[-1].text == "J. Buyer (intake:erp) commented: Supplier confirmed the price."


async def test_another_source_may_not_comment(http: ClientSession) -> None:
    await _filed(http)
    note = {"source": "sap", "author": "X", "text": "hello"}
    status, body = await _post(http, f"{CASE}/comments", note)
    assert status == 403
    assert "cannot comment on it" in body["error"]


async def test_attachments_are_stored_and_shown_on_every_card(
    http: ClientSession, services: Services
) -> None:
    body = await _filed(http, attachments=ATTACHMENTS)
    assert body["request"]["attachments"] == ATTACHMENTS
    assert body["history"][0]["action"] == "case.filed"
    view = build_card_view(services.policy, await case_details(services, 1), "lee")
    assert view.attachments == (
        Link("Supplier quote", "https://erp.acme.example/docs/Q-77.pdf"),
        Link("Invoice scan", "https://erp.acme.example/docs/INV-5531.pdf"),
    )
    slack = str(card_message(view))
    assert "<https://erp.acme.example/docs/Q-77.pdf|Supplier quote>" in slack
    teams = str(approval_card(view))
    assert "'url': 'https://erp.acme.example/docs/INV-5531.pdf'" in teams
    assert "Supplier quote <https://erp.acme.example/docs/Q-77.pdf>" in render_console(view)


async def test_a_request_without_attachments_is_stored_as_before(http: ClientSession) -> None:
    body = await _filed(http)
    assert "attachments" not in body["request"]


async def test_a_repeat_says_it_was_replayed(http: ClientSession) -> None:
    headers = {**auth(), "Idempotency-Key": "k-9"}
    async with http.post("/api/v1/exceptions", json=EVENT, headers=headers) as first:
        assert first.status == 201
        assert "Idempotent-Replayed" not in first.headers
    async with http.post("/api/v1/exceptions", json=EVENT, headers=headers) as again:
        assert again.status == 200
        assert again.headers["Idempotent-Replayed"] == "true"
    async with http.post("/api/v1/exceptions", json=EVENT, headers=auth()) as by_source:
        assert by_source.status == 200
        assert by_source.headers["Idempotent-Replayed"] == "true"


async def test_nothing_is_counted_twice(http: ClientSession, services: Services) -> None:
    await _filed(http)
    assert (await counts(services.db))["cases"] == 1

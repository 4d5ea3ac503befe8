"""The intake API over real HTTP: what feeds can send, and what bad input gets back."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.server import create_app
from handlers.context import Services
from storage.database import Database
from tests.bot.conftest import auth
from tests.handlers.conftest import counts

EVENT: dict[str, Any] = {
    "code": "PRICE_MISMATCH",
    "title": "Invoice 12% above PO",
    "requester": "rita@acme.example",
    "amount": 18250.00,
    "currency": "USD",
    "supplier": {"id": "SUP-42", "name": "Acme Industrial", "risk_score": 72, "on_contract": True},
    "category": "MRO",
    "cost_center": "CC-410",
    "project_code": "P-77",
    "legal_entity": "US01",
    "urgency": "high",
    "budget": {"remaining": 50000.0},
    "references": {"po": "PO-88812", "invoice": "INV-5531"},
    "details": {"variance_pct": 12.0},
    "source": "erp",
    "external_id": "erp-evt-991",
}
NOTHING = {"cases": 0, "decisions": 0, "audit": 0, "outbox": 0}


async def test_filing_answers_201_with_the_case(http: ClientSession) -> None:
    async with http.post("/api/v1/exceptions", json=EVENT, headers=auth()) as response:
        assert response.status == 201
        body = await response.json()
        assert response.headers["Location"] == "/api/v1/exceptions/EXC-000001"
    assert body["id"] == "EXC-000001"
    assert body["status"] == "pending"
    assert body["outcome"] == "route"
    assert body["requester"] == "rita"
    assert [(s["tier"], s["approvers"], s["mode"], s["status"]) for s in body["route"]] == [
        ("category-lead", ["lee", "dana"], "any", "open")
    ]
    assert body["route"][0]["due_at"] == "2026-03-02T13:00:00.000000Z"
    assert body["policy_version"]
    assert body["flags"] == []
    assert [e["action"] for e in body["history"]] == [
        "case.filed",
        "policy.evaluated",
        "step.opened",
    ]
    assert body["history"][0]["actor"] == "system:intake:erp"
    assert body["history"][0]["platform"] == "api"


async def test_a_repeat_returns_200_and_creates_nothing(
    http: ClientSession, services: Services
) -> None:
    headers = {**auth(), "Idempotency-Key": "k-1"}
    async with http.post("/api/v1/exceptions", json=EVENT, headers=headers) as first:
        assert first.status == 201
    async with http.post("/api/v1/exceptions", json=EVENT, headers=headers) as again:
        assert again.status == 200
        assert (await again.json())["id"] == "EXC-000001"
    # Same source + external_id without the key: still the same case.
    async with http.post("/api/v1/exceptions", json=EVENT, headers=auth()) as third:
        assert third.status == 200
    assert (await counts(services.db))["cases"] == 1


async def test_an_idempotency_key_reused_for_another_body_is_422(http: ClientSession) -> None:
    headers = {**auth(), "Idempotency-Key": "k-1"}
    async with http.post("/api/v1/exceptions", json=EVENT, headers=headers) as first:
        assert first.status == 201
    changed = {**EVENT, "amount": 1.0}
    async with http.post("/api/v1/exceptions", json=changed, headers=headers) as response:
        assert response.status == 422
        assert (await response.json())["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": "Basic dGVzdDp0ZXN0"}, 401),
        ({"Authorization": "Bearer"}, 401),
    ],
)
async def test_no_or_wrong_token_is_401_and_stores_nothing(
    http: ClientSession, services: Services, headers: dict[str, str], status: int
) -> None:
    async with http.post("/api/v1/exceptions", json=EVENT, headers=headers) as response:
        assert response.status == status
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    async with http.get("/api/v1/exceptions/EXC-000001", headers=headers) as response:
        assert response.status == status
    assert await counts(services.db) == NOTHING


async def test_without_a_configured_token_the_api_is_disabled(services: Services) -> None:
    server = TestServer(create_app(services, api_token=None), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with (
            ClientSession() as http,
            http.post(
                server.make_url("/api/v1/exceptions"), json=EVENT, headers=auth()
            ) as response,
        ):
            assert response.status == 503
            assert "APPROVALS_API_TOKEN" in (await response.json())["error"]
    finally:
        await server.close()
    assert await counts(services.db) == NOTHING


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (b"{not json", ["body"]),
        (b"\xff\xfe", ["body"]),
        (b"[1, 2]", ["body"]),
        (b"null", ["body"]),
        (b"{}", ["code", "title", "requester"]),
        (
            b'{"code": 5, "title": "t", "requester": "rita", "amount": "lots"}',
            ["code", "amount"],
        ),
        (
            b'{"code": "X", "title": "t", "requester": "rita", "amount": -1, "currency": "usd"}',
            ["amount", "currency"],
        ),
        (b'{"code": "X", "title": "t", "requester": "rita", "colour": "red"}', ["colour"]),
        (
            b'{"code": "X", "title": "t", "requester": "rita", "supplier": {"risk_score": 101}}',
            ["supplier.risk_score"],
        ),
        (
            b'{"code": "X", "title": "t", "requester": "rita", "details": {"nested": {"a": 1}}}',
            ["details"],
        ),
        (b'{"code": "NO_SUCH", "title": "t", "requester": "rita"}', ["code"]),
        (b'{"code": "OFF_CONTRACT", "title": "t", "requester": "who@else"}', ["requester"]),
        (b'{"code": "OFF_CONTRACT", "title": "", "requester": "rita"}', ["title"]),
    ],
)
async def test_bad_input_is_422_naming_each_field_and_stores_nothing(
    http: ClientSession, services: Services, body: bytes, fields: list[str]
) -> None:
    headers = {**auth(), "Content-Type": "application/json"}
    async with http.post("/api/v1/exceptions", data=body, headers=headers) as response:
        assert response.status == 422
        answer = await response.json()
    assert [e["field"] for e in answer["errors"]] == fields
    assert all(e["message"] for e in answer["errors"])
    assert await counts(services.db) == NOTHING


async def test_a_malformed_idempotency_key_is_422(http: ClientSession, services: Services) -> None:
    headers = {**auth(), "Idempotency-Key": "has spaces"}
    async with http.post("/api/v1/exceptions", json=EVENT, headers=headers) as response:
        assert response.status == 422
    assert await counts(services.db) == NOTHING


async def test_an_oversized_body_is_refused(http: ClientSession, services: Services) -> None:
    huge = b'{"code": "X", "title": "' + b"x" * 300_000 + b'", "requester": "rita"}'
    async with http.post("/api/v1/exceptions", data=huge, headers=auth()) as response:
        assert response.status in (413, 422)
    assert await counts(services.db) == NOTHING


async def test_get_returns_the_case_with_its_history(http: ClientSession) -> None:
    async with http.post("/api/v1/exceptions", json=EVENT, headers=auth()) as response:
        assert response.status == 201
    async with http.get("/api/v1/exceptions/EXC-000001", headers=auth()) as response:
        assert response.status == 200
        body = await response.json()
    assert body["id"] == "EXC-000001"
    assert body["request"]["references"] == {"po": "PO-88812", "invoice": "INV-5531"}
    assert set(body["history"][0]) == {"at", "actor", "action", "rationale", "platform"}


@pytest.mark.parametrize("case_id", ["EXC-000404", "nonsense", "0", "EXC-"])
async def test_unknown_or_malformed_ids_are_404(http: ClientSession, case_id: str) -> None:
    async with http.get(f"/api/v1/exceptions/{case_id}", headers=auth()) as response:
        assert response.status == 404
        assert "error" in await response.json()


async def test_health_readiness_and_metrics(http: ClientSession, services: Services) -> None:
    async with http.get("/healthz") as response:
        assert response.status == 200
    async with http.get("/readyz") as response:
        assert response.status == 200
        assert (await response.json())["policy_version"] == services.policy.version
    async with http.post("/api/v1/exceptions", json=EVENT, headers=auth()) as response:
        assert response.status == 201
    async with http.get("/metrics") as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    assert 'approvals_cases_filed_total{outcome="route"} 1.0' in text
    assert 'approvals_http_requests_total{route="/api/v1/exceptions",status="201"} 1.0' in text
    assert 'approvals_cases{status="pending"} 1.0' in text
    assert 'approvals_cases{status="approved"} 0.0' in text
    assert "approvals_outbox_pending 3.0" in text  # two cards and a note for the requester


async def test_readiness_fails_when_the_database_is_unreachable(services: Services) -> None:
    broken = Services(
        db=Database.from_url("sqlite+aiosqlite:////nonexistent-dir/approvals.db"),
        policy=services.policy,
        clock=services.clock,
    )
    server = TestServer(create_app(broken, api_token=None), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with ClientSession() as http, http.get(server.make_url("/readyz")) as response:
            assert response.status == 503
            assert (await response.json())["database"] == "unreachable"
    finally:
        await server.close()
        await broken.db.dispose()


async def test_unknown_routes_answer_json_404(http: ClientSession) -> None:
    async with http.get("/api/v1/nothing-here") as response:
        assert response.status == 404
        assert (await response.json())["error"]

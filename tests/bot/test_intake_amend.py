"""Amendments over HTTP: PATCH with a JSON merge patch, a repost with a newer revision, and
the 409 for a repost that differs without one (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import ClientSession

from handlers.context import Services
from tests.bot.conftest import auth
from tests.bot.test_intake_api import EVENT
from tests.handlers.conftest import counts

CASE = "/api/v1/exceptions/EXC-000001"
PATCH_HEADERS = {**auth(), "Content-Type": "application/merge-patch+json"}


async def _file(http: ClientSession, **fields: Any) -> dict[str, Any]:
    async with http.post("/api/v1/exceptions", json={**EVENT, **fields}, headers=auth()) as r:
        assert r.status == 201, await r.text()
        return dict(await r.json())


async def _patch(
    http: ClientSession, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with http.patch(CASE, data=data, headers=headers or PATCH_HEADERS) as response:
        return response.status, await response.json()


async def test_a_merge_patch_amends_the_case_and_a_material_one_starts_again(
    http: ClientSession, services: Services
) -> None:
    filed = await _file(http)
    assert [s["status"] for s in filed["route"]] == ["open"]

    status, immaterial = await _patch(http, {"references": {"po": "PO-88813"}})
    assert status == 200, immaterial
    assert immaterial["request"]["references"] == {"po": "PO-88813", "invoice": "INV-5531"}
    assert [s["status"] for s in immaterial["route"]] == ["open"]
    assert immaterial["history"][-2]["action"] == "case.amended"
    assert immaterial["history"][-2]["rationale"] == "references.po PO-88812 -> PO-88813"

    status, material = await _patch(http, {"amount": 24900.0, "project_code": None})
    assert status == 200, material
    assert material["amount"] == 24900.0
    assert "project_code" not in material["request"]
    assert [s["status"] for s in material["route"]] == ["superseded", "open"]
    amended = next(e for e in reversed(material["history"]) if e["action"] == "case.amended")
    assert amended["rationale"] == "amount 18,250.00 -> 24,900.00 USD; project_code P-77 -> (none)"


async def test_a_repost_answers_as_the_source_would_expect(
    http: ClientSession, services: Services
) -> None:
    await _file(http, revision=1)
    # The same content again (any revision): a replay.
    async with http.post("/api/v1/exceptions", json={**EVENT, "revision": 1}, headers=auth()) as r:
        assert (r.status, r.headers.get("Idempotent-Replayed")) == (200, "true")
    # Other content, no newer revision: 409 naming the case and how to amend it.
    before = await counts(services.db)
    changed = {**EVENT, "amount": 99.0, "revision": 1}
    async with http.post("/api/v1/exceptions", json=changed, headers=auth()) as r:
        assert r.status == 409
        error = (await r.json())["error"]
    assert error.startswith("EXC-000001 already holds erp erp-evt-991 with different content.")
    assert "a revision above 1" in error
    assert "PATCH /api/v1/exceptions/EXC-000001" in error
    assert await counts(services.db) == before
    # A newer revision amends it: 200, and not a replay.
    async with http.post(
        "/api/v1/exceptions", json={**changed, "revision": 2}, headers=auth()
    ) as r:
        assert r.status == 200
        assert "Idempotent-Replayed" not in r.headers
        body = await r.json()
    assert (body["id"], body["amount"], body["request"]["revision"]) == ("EXC-000001", 99.0, 2)


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        ({"amount": 1.0}, {"Content-Type": "application/json"}, 401, "bearer token"),
        ({"amount": 1.0}, {**auth(), "Content-Type": "text/plain"}, 415, "merge-patch+json"),
        ([1, 2], None, 422, "must be a JSON object"),
        ({}, None, 422, "must be a JSON object naming the fields"),
        (b"{", None, 422, "body"),
        ({"amount": -5}, None, 422, "amount"),
        ({"color": "red"}, None, 422, "color"),
        ({"code": "NO_SUCH_CODE"}, None, 422, "unknown exception code"),
        ({"external_id": "other"}, None, 422, "cannot change"),
        ({"title": None}, None, 422, "title"),  # a required field removed
    ],
)
async def test_a_bad_patch_is_answered_and_changes_nothing(
    http: ClientSession,
    services: Services,
    body: Any,
    headers: dict[str, str] | None,
    status: int,
    message: str,
) -> None:
    await _file(http)
    before = await counts(services.db)
    answered, error = await _patch(http, body, headers)
    assert answered == status, error
    assert message in json.dumps(error)
    assert await counts(services.db) == before


async def test_an_unknown_or_withdrawn_case_cannot_be_amended(
    http: ClientSession, services: Services
) -> None:
    assert (await _patch(http, {"amount": 1.0}))[0] == 404
    await _file(http)
    withdrawal = {"source": "erp", "reason": "PO cancelled"}
    async with http.post(f"{CASE}/withdraw", json=withdrawal, headers=auth()) as r:
        assert r.status == 200
    before = await counts(services.db)
    status, error = await _patch(http, {"amount": 1.0})
    assert (status, error["error"]) == (409, "EXC-000001 is withdrawn; it cannot be amended.")
    assert await counts(services.db) == before

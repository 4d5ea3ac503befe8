"""Hostile input to the newer intake routes (list, withdraw, comments, attachments): each is
a clear 4xx, nothing is stored, nothing is logged with a traceback (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from aiohttp import ClientSession

from handlers.context import Services
from tests.bot.conftest import auth
from tests.bot.test_intake_api import EVENT, NOTHING
from tests.bot.test_intake_hostile import BODIES
from tests.handlers.conftest import counts

WITHDRAW = "/api/v1/exceptions/EXC-000001/withdraw"
COMMENTS = "/api/v1/exceptions/EXC-000001/comments"
ROUTES = [
    ("post", WITHDRAW),
    ("post", COMMENTS),
    ("get", "/api/v1/exceptions"),
    ("get", "/api/v1/openapi.json"),
]


async def _filed(http: ClientSession) -> None:
    async with http.post("/api/v1/exceptions", json=EVENT, headers=auth()) as response:
        assert response.status == 201


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
async def test_without_the_token_every_route_is_401(
    http: ClientSession, services: Services, method: str, path: str, headers: dict[str, str]
) -> None:
    await _filed(http)
    before = await counts(services.db)
    body = {"source": "erp", "author": "a", "text": "t"}
    async with http.request(method, path, json=body, headers=headers) as response:
        assert response.status == 401
        assert (await response.json())["error"] == "Missing or wrong bearer token."
    assert await counts(services.db) == before


@pytest.mark.parametrize("path", [WITHDRAW, COMMENTS])
@pytest.mark.parametrize("name", BODIES)
async def test_hostile_bodies_are_422(
    http: ClientSession,
    services: Services,
    caplog: pytest.LogCaptureFixture,
    path: str,
    name: str,
) -> None:
    caplog.set_level(logging.INFO)
    await _filed(http)
    before = await counts(services.db)
    body = BODIES[name].encode("latin-1" if name == "not UTF-8" else "utf-8")
    headers = {**auth(), "Content-Type": "application/json"}
    async with http.post(path, data=body, headers=headers) as response:
        assert response.status == 422, await response.text()
    assert await counts(services.db) == before
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        (WITHDRAW, {}, ["source"]),
        (WITHDRAW, [], ["body"]),
        (WITHDRAW, {"source": "erp", "reason": 5}, ["reason"]),
        (WITHDRAW, {"source": "erp", "reason": "x" * 3001}, ["reason"]),
        (WITHDRAW, {"source": "e\x1brp"}, ["source"]),
        (WITHDRAW, {"source": "erp", "colour": "red"}, ["colour"]),
        (COMMENTS, {"source": "erp", "text": "t"}, ["author"]),
        (COMMENTS, {"source": "erp", "author": "a\x00b", "text": "t"}, ["author"]),
        (COMMENTS, {"source": "erp", "author": "x" * 201, "text": "t"}, ["author"]),
        (COMMENTS, {"source": "erp", "author": "a\nb", "text": "t"}, ["author"]),
        (COMMENTS, {"source": "erp", "author": "a", "text": "   "}, ["text"]),
        (COMMENTS, {"source": "erp", "author": "a", "text": "\ud800"}, ["text"]),
    ],
)
async def test_bad_fields_are_422_naming_them(
    http: ClientSession, services: Services, path: str, body: Any, fields: list[str]
) -> None:
    await _filed(http)
    before = await counts(services.db)
    data = json.dumps(body)  # a lone surrogate goes as an escape, as a hostile sender's would
    headers = {**auth(), "Content-Type": "application/json"}
    async with http.post(path, data=data, headers=headers) as response:
        assert response.status == 422, await response.text()
        answer = await response.json()
    assert [e["field"] for e in answer["errors"]] == fields
    assert await counts(services.db) == before


@pytest.mark.parametrize("case_id", ["EXC-000404", "nonsense", "0", "EXC-٣", "1%0A"])
@pytest.mark.parametrize("action", ["withdraw", "comments"])
async def test_unknown_cases_are_404(
    http: ClientSession, services: Services, case_id: str, action: str
) -> None:
    body = (
        {"source": "erp"} if action == "withdraw" else {"source": "erp", "author": "a", "text": "t"}
    )
    async with http.post(
        f"/api/v1/exceptions/{case_id}/{action}", json=body, headers=auth()
    ) as response:
        assert response.status == 404
    assert await counts(services.db) == NOTHING


@pytest.mark.parametrize(
    ("attachments", "field"),
    [
        ([{"name": "Quote", "url": "http://erp.example/q.pdf"}], "attachments.0.url"),
        ([{"name": "Quote", "url": "javascript:alert(1)"}], "attachments.0.url"),
        ([{"name": "Quote", "url": "https://erp.example/a b"}], "attachments.0.url"),
        ([{"name": "Quote", "url": "https://e.example/" + "x" * 2000}], "attachments.0.url"),
        ([{"name": "x" * 201, "url": "https://erp.example/q"}], "attachments.0.name"),
        ([{"name": "Q\x00", "url": "https://erp.example/q"}], "attachments.0.name"),
        ([{"name": "Quote"}], "attachments.0.url"),
        ([{"name": "Q", "url": "https://erp.example/q", "size": 1}], "attachments.0.size"),
        ([{"name": "Q", "url": "https://erp.example/q"}] * 21, "attachments"),
        ("https://erp.example/q", "attachments"),
    ],
)
async def test_hostile_attachments_are_refused(
    http: ClientSession, services: Services, attachments: Any, field: str
) -> None:
    headers = {**auth(), "Content-Type": "application/json"}
    body = json.dumps({**EVENT, "attachments": attachments})
    async with http.post("/api/v1/exceptions", data=body, headers=headers) as response:
        assert response.status == 422, await response.text()
        assert [e["field"] for e in (await response.json())["errors"]] == [field]
    assert await counts(services.db) == NOTHING

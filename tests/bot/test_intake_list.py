"""`GET /api/v1/exceptions`: newest first, filtered, keyset-paginated, and stable while
cases are being filed (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.intake_list import encode_cursor
from handlers.clock import ManualClock
from handlers.context import Services
from storage.case_list import Position
from tests.bot.conftest import auth
from tests.bot.test_intake_api import EVENT
from tests.conftest import START


async def _file(http: ClientSession, **fields: Any) -> str:
    event = {**EVENT, "external_id": None, **fields}
    async with http.post("/api/v1/exceptions", json=event, headers=auth()) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["id"])


async def _list(http: ClientSession, query: str = "") -> dict[str, Any]:
    async with http.get(f"/api/v1/exceptions{query}", headers=auth()) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
    return body


async def test_items_are_the_cases_as_get_returns_them_newest_first(http: ClientSession) -> None:
    first, second = await _file(http), await _file(http, title="Second")
    body = await _list(http)
    assert [item["id"] for item in body["items"]] == [second, first]
    assert body["next_cursor"] is None
    async with http.get(f"/api/v1/exceptions/{first}", headers=auth()) as response:
        assert body["items"][1] == await response.json()


async def test_pages_follow_the_cursor_to_the_end(http: ClientSession) -> None:
    filed = [await _file(http, title=f"Case {n}") for n in range(5)]
    seen: list[str] = []
    query = "?limit=2"
    while True:
        body = await _list(http, query)
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        query = f"?limit=2&cursor={body['next_cursor']}"
    assert seen == list(reversed(filed))


async def test_filters(http: ClientSession, services: Services, clock: ManualClock) -> None:
    early = await _file(http, requester="rita", source="erp")
    clock.advance(timedelta(days=2))
    late = await _file(http, requester="dana", source="sap", code="OFF_CONTRACT")
    at = (START + timedelta(days=1)).date().isoformat()
    assert [i["id"] for i in (await _list(http, f"?since={at}"))["items"]] == [late]
    assert [i["id"] for i in (await _list(http, f"?until={at}"))["items"]] == [early]
    assert [i["id"] for i in (await _list(http, "?source=sap"))["items"]] == [late]
    assert [i["id"] for i in (await _list(http, "?code=PRICE_MISMATCH"))["items"]] == [early]
    by_email = await _list(http, "?requester=rita@acme.example")
    assert [i["id"] for i in by_email["items"]] == [early]
    assert (await _list(http, "?status=approved"))["items"] == []
    assert len((await _list(http, "?status=pending"))["items"]) == 2


async def test_paging_while_cases_are_filed_skips_and_repeats_nothing(
    http: ClientSession, clock: ManualClock
) -> None:
    before = set()
    for n in range(12):
        before.add(await _file(http, title=f"Before {n}"))
        clock.advance(timedelta(seconds=1))
    stop = asyncio.Event()

    async def keep_filing() -> int:
        filed = 0
        while not stop.is_set():
            await _file(http, title=f"During {filed}")
            filed += 1
            await asyncio.sleep(0)
        return filed

    filer = asyncio.create_task(keep_filing())
    seen: list[str] = []
    cursor = ""
    try:
        while True:
            body = await _list(http, f"?limit=3{cursor}")
            seen += [item["id"] for item in body["items"]]
            if body["next_cursor"] is None:
                break
            cursor = f"&cursor={body['next_cursor']}"
            await asyncio.sleep(0.01)  # let the filer in between pages
    finally:
        stop.set()
        during = await filer
    assert during > 0
    assert len(seen) == len(set(seen)), "a case was listed twice"
    assert before <= set(seen), "a case filed before paging began was skipped"


@pytest.mark.parametrize(
    "query",
    [
        "?cursor=not-base64!",
        "?cursor=bm90IGpzb24",  # "not json"
        "?cursor=WzEsIDJd",  # [1, 2]
        "?cursor=WyIyMDI2LTAzLTAyVDA5OjAwOjAwIiwgMV0",  # a time without a zone
        "?cursor=" + encode_cursor(Position(START, 0)),
    ],
)
async def test_a_bad_cursor_is_400_saying_what_to_do(http: ClientSession, query: str) -> None:
    async with http.get(f"/api/v1/exceptions{query}", headers=auth()) as response:
        assert response.status == 400
        assert "next_cursor" in (await response.json())["error"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?limit=many", "limit"),
        ("?status=open", "status"),
        ("?since=yesterday", "since"),
        ("?until=2026-13-01", "until"),
        ("?colour=red", "colour"),
        ("?limit=1&limit=2", "limit"),
        ("?code=" + "X" * 65, "code"),
        ("?source=a%00b", "source"),
    ],
)
async def test_bad_filters_are_422_naming_them(http: ClientSession, query: str, field: str) -> None:
    async with http.get(f"/api/v1/exceptions{query}", headers=auth()) as response:
        assert response.status == 422
        assert [e["field"] for e in (await response.json())["errors"]] == [field]


async def test_the_token_is_checked_before_the_query(http: ClientSession) -> None:
    async with http.get("/api/v1/exceptions?limit=0&cursor=junk") as response:
        assert response.status == 401

"""Hostile input to the intake API: every one is a clear 4xx, nothing is stored, and nothing
is logged with a traceback (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest
from aiohttp import ClientSession

from handlers.context import Services
from tests.bot.conftest import auth
from tests.bot.test_intake_api import EVENT, NOTHING
from tests.handlers.conftest import counts


def _with(path: str, value: Any) -> dict[str, Any]:
    """EVENT with `value` at the dotted `path`."""
    event = copy.deepcopy(EVENT)
    target = event
    *parents, leaf = path.split(".")
    for parent in parents:
        target = target[parent]
    target[leaf] = value
    return event


BODIES: dict[str, str] = {
    "deeply nested arrays": "[" * 5000 + "]" * 5000,
    "deeply nested objects": '{"a":' * 3000 + "1" + "}" * 3000,
    "a number of 5000 digits": json.dumps(EVENT)[:-1] + ', "details": {"n": ' + "9" * 5000 + "}}",
    "NaN": json.dumps(EVENT).replace('"remaining": 50000.0', '"remaining": NaN'),
    "Infinity": json.dumps(EVENT).replace('"amount": 18250.0', '"amount": Infinity'),
    "not UTF-8": '{"title": "\xff"}',
}
EVENTS: dict[str, dict[str, Any]] = {
    "a NUL in the title": _with("title", "Invoice\x00 12% above PO"),
    "a control character in a reference": _with("references.po", "PO-\x1b[31m"),
    "an amount beyond a quadrillion": _with("amount", 1e16),
    "a huge integer detail": _with("details.lines", 10**30),
    "a lone surrogate": _with("supplier.name", "\ud800"),
}


@pytest.mark.parametrize("name", BODIES)
async def test_hostile_bodies_are_refused_with_a_4xx(
    http: ClientSession, services: Services, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    caplog.set_level(logging.INFO)
    body = BODIES[name].encode("latin-1" if name == "not UTF-8" else "utf-8")
    headers = {**auth(), "Content-Type": "application/json"}
    async with http.post("/api/v1/exceptions", data=body, headers=headers) as response:
        assert response.status == 422, await response.text()
        answer = await response.json()
    assert answer["errors"][0]["field"] in ("body", "details", "budget.remaining", "amount")
    assert await counts(services.db) == NOTHING
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("name", EVENTS)
async def test_hostile_values_are_refused_naming_the_field(
    http: ClientSession, services: Services, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    # json.dumps writes a lone surrogate as an escape, as a hostile sender would
    body = json.dumps(EVENTS[name])
    headers = {**auth(), "Content-Type": "application/json"}
    async with http.post("/api/v1/exceptions", data=body, headers=headers) as response:
        assert response.status == 422, await response.text()
        answer = await response.json()
    assert answer["errors"][0]["field"] in (
        "title",
        "references",
        "amount",
        "details",
        "supplier.name",
    )
    assert await counts(services.db) == NOTHING
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("case_id", ["EXC-00007\uff16", "EXC-٣", "1%0A", "EXC-1%00"])
async def test_case_ids_are_ascii(http: ClientSession, case_id: str) -> None:
    async with http.post("/api/v1/exceptions", json=EVENT, headers=auth()) as response:
        assert response.status == 201
    async with http.get(f"/api/v1/exceptions/{case_id}", headers=auth()) as response:
        assert response.status == 404


async def test_a_number_beyond_a_float_is_refused(http: ClientSession, services: Services) -> None:
    body = json.dumps(EVENT).replace('"amount": 18250.0', '"amount": 1e999')
    headers = {**auth(), "Content-Type": "application/json"}
    async with http.post("/api/v1/exceptions", data=body, headers=headers) as response:
        assert response.status == 422
        assert "too large to be finite" in (await response.json())["errors"][0]["message"]
    assert await counts(services.db) == NOTHING


@pytest.mark.parametrize("field", ["source", "external_id"])
async def test_an_empty_source_or_external_id_is_refused(
    http: ClientSession, services: Services, field: str
) -> None:
    """An empty one would name no source system's record, and could not be looked up again:
    two such filings would collide on the unique (source, external_id)."""
    for _ in range(2):
        event = {**EVENT, field: "  "}
        async with http.post("/api/v1/exceptions", json=event, headers=auth()) as response:
            assert response.status == 422
            assert (await response.json())["errors"][0]["field"] == field
    assert await counts(services.db) == NOTHING

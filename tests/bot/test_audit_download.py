"""`GET /audit/export?token=...` over a real socket: the export the CLI writes, as a download
recorded in the audit log; a bad token 401 and a person without the role 403, storing
nothing else (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.audit_download import AuditDownloads
from bot.audit_export import write_export
from bot.links import LinkSigner
from bot.server import create_app
from handlers.audit_chat import ExportRange
from handlers.clock import ManualClock
from handlers.context import Services
from policy.loader import parse_policy
from storage import audit
from tests.conftest import START, TEST_POLICY
from tests.handlers.conftest import counts, file

SECRET = "a-test-link-secret-of-32-characters!"
PUBLIC = "https://approvals.example.com"


@pytest.fixture
def downloads() -> AuditDownloads:
    return AuditDownloads(LinkSigner(SECRET), PUBLIC)


@pytest.fixture
async def http(services: Services, downloads: AuditDownloads) -> AsyncIterator[ClientSession]:
    app = create_app(services, api_token=None, downloads=downloads)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with ClientSession(base_url=str(server.make_url("/"))) as session:
            yield session
    finally:
        await server.close()


def _path(link: str | None) -> str:
    """The link as a path on the test server (the public host stands in front of it)."""
    assert link is not None
    assert link.startswith(f"{PUBLIC}/audit/export?token=")
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


async def _cli_lines(services: Services, wanted: ExportRange, through: int) -> list[str]:
    out = io.StringIO()
    async with services.db.reading() as conn:
        events = audit.stream_events(
            conn, case_ref=wanted.case, since=wanted.since, through=through
        )
        await write_export(events, out, "jsonl")
    return out.getvalue().splitlines()


@pytest.mark.parametrize("who", ["aud", "ada"])
async def test_the_download_is_the_cli_export_and_is_recorded(
    services: Services, downloads: AuditDownloads, http: ClientSession, who: str
) -> None:
    await file(services)
    await file(services, title="Monitors")
    link = downloads.link(who, ExportRange(), services.clock.now())

    async with http.get(_path(link)) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="audit-export-20260302T090000Z.jsonl"'
        )
        assert response.headers["Cache-Control"] == "no-store"
        body = await response.text()

    lines = body.splitlines()
    assert lines == await _cli_lines(services, ExportRange(), through=7)
    rows = [json.loads(line) for line in lines]
    assert [row["seq"] for row in rows] == list(range(1, 8))
    assert rows[-1]["action"] == "audit.exported"  # the export holds its own record
    assert (rows[-1]["actor"], rows[-1]["platform"]) == (who, "web")
    assert rows[-1]["data"] == {"seq": 6}


async def test_a_link_for_one_case_since_a_day(
    services: Services, downloads: AuditDownloads, http: ClientSession, clock: ManualClock
) -> None:
    await file(services)
    clock.advance(timedelta(days=2))
    await file(services, title="Monitors")
    wanted = ExportRange("EXC-000002", START + timedelta(days=1))
    link = downloads.link("aud", wanted, clock.now())

    async with http.get(_path(link)) as response:
        assert response.status == 200
        assert (
            "audit-export-EXC-000002-since-20260303-20260304T090000Z.jsonl"
            in (response.headers["Content-Disposition"])
        )
        rows = [json.loads(line) for line in (await response.text()).splitlines()]

    assert {row["case"] for row in rows} == {"EXC-000002"}
    assert [row["seq"] for row in rows] == [4, 5, 6]
    record = [e async for e in _events(services)][-1]
    assert record.action == "audit.exported"
    assert record.data == {
        "seq": 6,
        "of_case": "EXC-000002",
        "since": "2026-03-03T09:00:00.000000Z",
    }


async def _events(services: Services) -> AsyncIterator[audit.AuditRecord]:
    async with services.db.reading() as conn:
        async for event in audit.stream_events(conn):
            yield event


def _forged() -> str:
    other = LinkSigner("another-secret-of-at-least-32-chars!")
    return other.sign(purpose="audit-export", subject="aud", now=START)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("", "This link has no token"),
        ("?token=", "This link has no token"),
        ("?token=not-a-token", "This link is not valid."),
        (f"?token={_forged()}", "This link is not valid."),
        (
            "?token=" + LinkSigner(SECRET).sign(purpose="dashboard", subject="aud", now=START),
            "This link is not for this.",
        ),
    ],
    ids=["missing", "empty", "junk", "forged", "wrong-purpose"],
)
async def test_a_bad_token_is_401_and_stores_nothing(
    services: Services, http: ClientSession, query: str, says: str
) -> None:
    await file(services)
    before = await counts(services.db)

    async with http.get(f"/audit/export{query}") as response:
        assert response.status == 401
        assert response.content_type == "text/plain"
        assert (await response.text()).startswith(says)

    assert await counts(services.db) == before


async def test_an_expired_link_is_401_and_stores_nothing(
    services: Services, downloads: AuditDownloads, http: ClientSession, clock: ManualClock
) -> None:
    await file(services)
    link = downloads.link("aud", ExportRange(), clock.now())
    clock.advance(timedelta(minutes=15))
    before = await counts(services.db)

    async with http.get(_path(link)) as response:
        assert response.status == 401
        assert "expired" in await response.text()

    assert await counts(services.db) == before


async def test_a_person_who_lost_the_role_gets_403_and_the_refusal_is_audited(
    services: Services, downloads: AuditDownloads, http: ClientSession
) -> None:
    await file(services)
    link = downloads.link("aud", ExportRange(), services.clock.now())
    assert link is not None
    token = parse_qs(urlsplit(link).query)["token"][0]
    text = TEST_POLICY.read_text(encoding="utf-8").replace("roles: [auditor]", "roles: []")
    services.policy = parse_policy(text, "policy.yaml")  # aud is no auditor any more
    before = await counts(services.db)

    async with http.get("/audit/export", params={"token": token}) as response:
        assert response.status == 403
        assert "admin or auditor" in await response.text()

    assert await counts(services.db) == {**before, "audit": before["audit"] + 1}
    refusal = [e async for e in _events(services)][-1]
    assert (refusal.action, refusal.actor) == ("audit.refused", "aud")


def test_without_a_public_url_there_is_no_link() -> None:
    downloads = AuditDownloads(LinkSigner(SECRET), None)
    assert downloads.link("aud", ExportRange(), START) is None

"""When the database is the problem: a configuration that cannot work stops start-up with one
line naming the variable; a schema that is not migrated, a busy or unreachable database are a
503 with Retry-After, never a 500 or a traceback."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from sqlalchemy.exc import OperationalError

from bot.http_errors import METRICS_KEY, errors_and_metrics
from bot.metrics import Metrics
from bot.server import create_app
from handlers.clock import ManualClock
from handlers.context import Services
from policy.model import Policy
from storage.database import Database
from storage.migrate import head_revision
from tests.bot.conftest import auth
from tests.bot.test_intake_api import EVENT
from tests.conftest import POSTGRES_URL

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://x", "'mysql' is not supported"),
        ("not-a-url", "'not-a-url' is not a database URL"),
        ("sqlite:///x.db", "'sqlite' is not the async driver: write sqlite+aiosqlite://"),
        (POSTGRES_URL.rsplit("/", 1)[0] + "/no_such_db", 'database "no_such_db" does not exist'),
    ],
)
def test_a_database_url_that_cannot_work_is_one_line(url: str, says: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        cwd=ROOT,
        env={"APPROVALS_DATABASE_URL": url, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("Configuration error: APPROVALS_DATABASE_URL: ")
    assert says in lines[0]


@pytest.fixture
async def unmigrated(
    database_url: str, policy: Policy, clock: ManualClock
) -> AsyncIterator[ClientSession]:
    db = Database.from_url(database_url)  # no migration: an empty database
    app = create_app(Services(db, policy, clock), api_token="t")
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with ClientSession(base_url=str(server.make_url("/"))) as http:
            yield http
    finally:
        await server.close()
        await db.dispose()


async def test_an_unmigrated_database_answers_503_naming_the_migration(
    unmigrated: ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async with unmigrated.get("/readyz") as response:
        assert response.status == 503
        body = await response.json()
    assert body["database"] == "needs migration"
    assert head_revision() in body["error"]
    assert "run `approvals migrate`" in body["error"]

    async with unmigrated.post("/api/v1/exceptions", json=EVENT, headers=auth("t")) as response:
        assert response.status == 503
        assert response.headers["Retry-After"]
        assert "approvals migrate" in (await response.json())["error"]
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_locked_database_is_503_with_retry_after(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def busy(request: web.Request) -> web.Response:
        raise OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))

    app = web.Application(middlewares=[errors_and_metrics])
    app[METRICS_KEY] = Metrics.create()
    app.router.add_post("/busy", busy)
    caplog.set_level(logging.WARNING)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with (
            ClientSession(base_url=str(server.make_url("/"))) as http,
            http.post("/busy") as response,
        ):
            assert response.status == 503
            assert response.headers["Retry-After"] == "1"
            assert "busy" in (await response.json())["error"]
    finally:
        await server.close()
    assert [r.levelname for r in caplog.records if "answered 503" in r.getMessage()] == ["WARNING"]
    assert not [r for r in caplog.records if r.exc_info]

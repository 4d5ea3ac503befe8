"""APPROVALS_LOG_FORMAT: text stays as it was; json is one object a line, each with the
request's correlation id and the case, and every response returns its correlation id."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from bot.log_format import HEADER, log_handler
from bot.server import create_app
from bot.settings import ConfigurationError, load_settings
from handlers.clock import ManualClock
from handlers.context import Services
from handlers.log_context import working_on
from policy.model import Policy
from storage.database import Database
from storage.migrate import upgrade
from tests.conftest import START

ROOT = Path(__file__).parents[2]
KEYS = {"level", "logger", "message", "time", "correlation_id", "case_id"}
log = logging.getLogger("tests.log_format")


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the root logger writes, as APPROVALS_LOG_FORMAT=json writes it."""
    out = io.StringIO()
    handler = log_handler("json", out)
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.INFO
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.level = level


def _records(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_bad_log_format_is_a_one_line_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings({"APPROVALS_LOG_FORMAT": "xml"})
    assert str(error.value) == (
        "Configuration error: APPROVALS_LOG_FORMAT: Input should be 'text' or 'json'"
    )
    assert load_settings({}).APPROVALS_LOG_FORMAT == "text"


def test_json_lines_carry_the_case_worked_on(json_lines: io.StringIO) -> None:
    log.info("outside")
    with working_on(42):
        log.warning("inside %s", "a case")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    outside, inside, failed = _records(json_lines)
    assert outside.keys() >= KEYS
    assert outside["case_id"] is None
    assert outside["correlation_id"] is None
    assert inside["case_id"] == "EXC-000042"
    assert (inside["level"], inside["logger"], inside["message"]) == (
        "WARNING",
        "tests.log_format",
        "inside a case",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*", str(inside["time"]))
    assert "ValueError: boom" in str(failed["exc_info"])  # the traceback stays in its line


@pytest.fixture
async def app_server(tmp_path: Path, policy: Policy) -> AsyncIterator[TestServer]:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'logs.db'}")
    await upgrade(db)

    async def boom(request: web.Request) -> web.Response:
        log.info("working on it")
        raise RuntimeError("a bug")

    def mount(app: web.Application) -> None:
        app.router.add_get("/boom/{case_id}", boom)

    services = Services(db=db, policy=policy, clock=ManualClock(START))
    server = TestServer(create_app(services, api_token=None, mounts=[mount]), port=0)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()
        await db.dispose()


async def test_a_requests_log_lines_carry_its_correlation_id(
    app_server: TestServer, json_lines: io.StringIO
) -> None:
    async with ClientSession() as http:
        async with http.get(app_server.make_url("/boom/EXC-000007")) as response:
            body = await response.json()
            header = response.headers[HEADER]
        async with http.get(app_server.make_url("/healthz")) as health:
            other = health.headers[HEADER]
    assert response.status == 500
    assert body["correlation_id"] == header  # the apology quotes the same id
    assert other != header
    mine = [r for r in _records(json_lines) if r["correlation_id"] == header]
    assert next(r["message"] for r in mine) == "working on it"
    assert any(str(r["message"]).startswith("unexpected error answering") for r in mine)
    assert {r["case_id"] for r in mine} == {"EXC-000007"}


@pytest.mark.parametrize(
    ("offered", "kept"),
    [("req-123.abc_Z", True), ("two words", False), ("x" * 65, False), ("a%0Ab", False)],
)
async def test_a_callers_correlation_id_is_kept_when_it_is_a_plain_token(
    app_server: TestServer, offered: str, kept: bool
) -> None:
    async with (
        ClientSession() as http,
        http.get(app_server.make_url("/healthz"), headers={HEADER: offered}) as response,
    ):
        returned = response.headers[HEADER]
    assert (returned == offered) is kept
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", returned)


def _migrate(tmp_path: Path, log_format: str | None) -> list[str]:
    env = {
        "APPROVALS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    if log_format is not None:
        env["APPROVALS_LOG_FORMAT"] = log_format
    run = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = run.stderr.splitlines()
    assert lines  # Alembic logs each migration at INFO
    return lines


def test_the_command_line_logs_json_lines_when_asked(tmp_path: Path) -> None:
    for line in _migrate(tmp_path, "json"):
        record = json.loads(line)
        assert record.keys() >= KEYS
        assert record["logger"].startswith("alembic")


def test_text_stays_the_default(tmp_path: Path) -> None:
    for line in _migrate(tmp_path, None):
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO alembic[\w.]*: .+", line)

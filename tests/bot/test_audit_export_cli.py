"""`approvals audit export` as a real process: piped into a reader that stops early (`| head`),
and asked for a case that has no events."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from handlers.clock import ManualClock
from handlers.context import Services
from policy.effects import AuditEvent
from policy.lifecycle import AuditKind
from policy.loader import load_policy
from storage import audit
from storage.database import Database
from storage.migrate import upgrade
from tests.conftest import START, TEST_POLICY
from tests.handlers.conftest import file

ROOT = Path(__file__).resolve().parents[2]
EXTRA_EVENTS = 5000  # about 2.5 MB of JSON Lines: far more than a pipe and stdout's buffer hold
TIMEOUT = 60


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a CLI process whose database is a SQLite file in tmp_path."""
    env = dict(os.environ)
    env["APPROVALS_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'export.db'}"
    env["APPROVALS_POLICY_FILE"] = str(TEST_POLICY)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONUNBUFFERED", None)  # stdout block-buffered into a pipe, as for a user
    return env


def _seed(url: str, extra: int = 0) -> None:
    """A migrated database with one filed case (EXC-000001), then `extra` comments on it,
    appended through the real hash chain."""

    async def seed() -> None:
        db = Database.from_url(url)
        await upgrade(db)
        svc = Services(db=db, policy=load_policy(TEST_POLICY), clock=ManualClock(START))
        await file(svc)
        events = [
            AuditEvent(
                actor="lee",
                action=AuditKind.COMMENTED,
                case_ref="EXC-000001",
                rationale=f"comment {n}: " + "a long remark about the vendor " * 10,
            )
            for n in range(extra)
        ]
        async with db.transaction() as conn:
            await audit.append(conn, events, START)
        await db.dispose()

    asyncio.run(seed())


def _export(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "audit", "export", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def _export_into_a_pipe_closed_early(
    env: dict[str, str], *args: str, read: int
) -> tuple[list[str], int, str]:
    """Read `read` lines of the export, close the pipe (as `| head -1` does, or `| true` for
    none), then wait for the process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "audit", "export", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        lines = [process.stdout.readline() for _ in range(read)]
        process.stdout.close()
        stderr = process.stderr.read()
        returncode = process.wait(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()
    return lines, returncode, stderr


def _assert_quiet(returncode: int, stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "BrokenPipeError" not in stderr
    assert "Exception ignored" not in stderr
    assert returncode == 0, stderr


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize(("fmt", "first"), [("jsonl", '{"action": "case.filed"'), ("csv", "seq,")])
def test_export_into_a_reader_that_stops_early_ends_quietly(
    cli_env: dict[str, str], fmt: str, first: str, unbuffered: bool
) -> None:
    """As `approvals audit export | head -1`: no traceback, nothing about the broken pipe (also
    not from the flush of a buffered stdout at interpreter exit), exit status 0."""
    if unbuffered:
        cli_env["PYTHONUNBUFFERED"] = "1"
    _seed(cli_env["APPROVALS_DATABASE_URL"], EXTRA_EVENTS)
    [line], returncode, stderr = _export_into_a_pipe_closed_early(cli_env, "--format", fmt, read=1)
    assert line.startswith(first)
    _assert_quiet(returncode, stderr)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_small_export_into_a_reader_that_reads_nothing_ends_quietly(
    cli_env: dict[str, str], fmt: str
) -> None:
    """As `approvals audit export | true`: the pipe is closed before the process has started
    up, and the whole export still sits in stdout's buffer, so the write that fails is the
    flush; left in the buffer, the same bytes would fail again in the flush at exit."""
    _seed(cli_env["APPROVALS_DATABASE_URL"])
    lines, returncode, stderr = _export_into_a_pipe_closed_early(cli_env, "--format", fmt, read=0)
    assert lines == []
    _assert_quiet(returncode, stderr)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_case_without_events_is_an_error_and_writes_nothing(
    cli_env: dict[str, str], tmp_path: Path, fmt: str
) -> None:
    _seed(cli_env["APPROVALS_DATABASE_URL"])
    result = _export(cli_env, "--format", fmt, "--case", "EXC-999999")
    assert result.returncode == 2
    assert result.stdout == ""
    [message] = result.stderr.splitlines()
    assert "EXC-999999" in message

    output = tmp_path / f"audit.{fmt}"
    result = _export(cli_env, "--format", fmt, "--case", "EXC-999999", "--output", str(output))
    assert result.returncode == 2
    assert result.stdout == ""
    [message] = result.stderr.splitlines()
    assert "EXC-999999" in message
    assert not output.exists()

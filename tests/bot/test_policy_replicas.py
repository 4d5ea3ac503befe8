"""Two running processes on one database: a change made from chat on one is in force on the
other (`approvals serve`, its own process) within 10 seconds, without a restart."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import ClientSession

from handlers.clock import ManualClock
from handlers.context import Actor, Services
from handlers.policy_admin import run_policy_command
from handlers.policy_versions import bootstrap
from policy.loader import parse_policy
from storage.database import Database
from tests.bot.serve_process import running_serve
from tests.handlers.test_policy_admin import TEXT, _command

TOKEN = "replica-token"
FOLLOW_WITHIN = 10.0  # seconds, as the README promises


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    """(base url, database url, process) of a running `approvals serve` with two admins,
    its policy file at tmp_path / policy.yaml."""
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(TEXT, encoding="utf-8")
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    env = {
        "APPROVALS_DATABASE_URL": url,
        "APPROVALS_POLICY_FILE": str(policy_file),
        "APPROVALS_API_TOKEN": TOKEN,
    }
    with running_serve(env) as (base, process):
        yield base, url, process


async def test_a_version_approved_here_is_in_force_on_a_running_serve_within_10_s(
    replica: tuple[str, str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    base, url, process = replica
    db = Database.from_url(url)
    clock = ManualClock(datetime.now(UTC))
    try:
        # This process starts as a replica would: the file is the one already imported.
        from_file = parse_policy(TEXT, str(tmp_path / "policy.yaml"))
        here = Services(db, await bootstrap(db, from_file, TEXT, clock), clock)

        async def say(who: str, text: str) -> str:
            command = _command(here, text)
            return (await run_policy_command(here, Actor(who, "console"), command)).text

        async with ClientSession(base) as http:
            async with http.get("/readyz") as response:
                assert (await response.json())["policy_version"] == here.policy.version
            before = here.policy.version

            assert "sla = 8h" in await say("ada", "set tier category-lead sla 8h")
            assert "+  sla: 8h" in await say("ada", "diff")
            assert "cases backtested" in await say("ada", "backtest 30d")
            assert (await say("ada", "propose a working day")).startswith("Proposed POL-000002")
            assert "active policy now" in await say("maria", "approve POL-000002 agreed")
            approved_at = time.monotonic()
            after = here.policy.version
            assert after != before

            seen = before
            while seen != after and time.monotonic() - approved_at < FOLLOW_WITHIN:
                await asyncio.sleep(0.2)
                async with http.get("/readyz") as response:
                    seen = (await response.json())["policy_version"]
            assert seen == after, f"serve still on {seen[:12]} after {FOLLOW_WITHIN} s"

            # New cases on the other process are decided by the new version.
            event = {"code": "OFF_CONTRACT", "title": "After", "requester": "rita", "amount": 900.0}
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with http.post("/api/v1/exceptions", json=event, headers=headers) as response:
                assert response.status == 201
                assert (await response.json())["policy_version"] == after
    finally:
        await db.dispose()
    process.terminate()
    assert process.wait(timeout=20) == 0
    output = process.stdout.read() if process.stdout else ""
    assert f"policy: POL-000002 (version {after[:12]}) is now in force" in output

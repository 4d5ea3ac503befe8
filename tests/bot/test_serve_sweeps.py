"""`approvals serve` runs the overdue sweep on its timer (a process of its own, real time).

The one test that lets real time pass: a policy whose reminders come every second, and a
sweep every 0.2 s. Everything about what the sweep does is tested with a moved clock in
tests/handlers/test_sweep.py; this checks the wiring and a clean stop.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.bot.serve_process import running_serve

OVERDUE = Path(__file__).parent.parent / "data" / "overdue.yaml"
TOKEN = "e2e-token"


@pytest.fixture
def fast_serve(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`approvals serve` with reminders every second and a sweep every 0.2 s."""
    slow = OVERDUE.read_text()
    fast = slow.replace(
        "    sla: 4h\n    remind_every: 1h\n", "    sla: 1h\n    remind_every: 1s\n"
    )
    assert fast != slow
    (tmp_path / "fast.yaml").write_text(fast)
    env = {
        "APPROVALS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        "APPROVALS_POLICY_FILE": str(tmp_path / "fast.yaml"),
        "APPROVALS_API_TOKEN": TOKEN,
        "APPROVALS_SWEEP_SECONDS": "0.2",
    }
    with running_serve(env) as served:
        yield served


async def test_serve_sends_reminders_on_its_own(
    fast_serve: tuple[str, subprocess.Popen[str]],
) -> None:
    base, process = fast_serve
    headers = {"Authorization": f"Bearer {TOKEN}"}
    event = {"code": "OFF_CONTRACT", "title": "Laptops", "requester": "rita"}
    deadline = time.monotonic() + 30
    async with ClientSession(base) as http:
        case = None
        while case is None:
            assert time.monotonic() < deadline, "serve did not come up"
            assert process.poll() is None, "serve exited early"
            try:
                async with http.post("/api/v1/exceptions", json=event, headers=headers) as posted:
                    assert posted.status == 201
                    case = await posted.json()
            except OSError:
                await asyncio.sleep(0.05)
        actions: list[str] = []
        while "step.reminded" not in actions:
            assert time.monotonic() < deadline, f"no reminder: {actions}"
            await asyncio.sleep(0.1)
            async with http.get(f"/api/v1/exceptions/{case['id']}", headers=headers) as got:
                actions = [entry["action"] for entry in (await got.json())["history"]]

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    output = process.stdout.read() if process.stdout else ""
    assert "overdue sweep every 0.2s" in output
    assert "shutting down" in output

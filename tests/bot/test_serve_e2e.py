"""`approvals serve` as its own process, driven over HTTP and stopped with SIGTERM."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.bot.serve_process import running_serve
from tests.conftest import TEST_POLICY


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    env = {
        "APPROVALS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        "APPROVALS_POLICY_FILE": str(TEST_POLICY),
        "APPROVALS_API_TOKEN": "e2e-token",
    }
    with running_serve(env) as served:
        yield served


async def test_serve_files_and_answers_then_stops_cleanly(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    base, process = served
    headers = {"Authorization": "Bearer e2e-token"}
    event = {"code": "OFF_CONTRACT", "title": "Laptops", "requester": "rita", "amount": 900.0}
    async with ClientSession(base) as http:
        async with http.get("/readyz") as response:
            assert response.status == 200
            assert "outbox" in (await response.json())["chat"]  # no chat platform here
        async with http.post("/api/v1/exceptions", json=event, headers=headers) as response:
            assert response.status == 201
            case = await response.json()
        async with http.get(f"/api/v1/exceptions/{case['id']}", headers=headers) as response:
            assert (await response.json())["status"] == "pending"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    output = process.stdout.read() if process.stdout else ""
    assert "serving on http://127.0.0.1" in output
    assert "shutting down" in output
    assert "no chat platform connected: chat messages wait in the outbox" in output

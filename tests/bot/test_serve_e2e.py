"""`approvals serve` as its own process, driven over HTTP and stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.conftest import TEST_POLICY


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    env = {
        **os.environ,
        "APPROVALS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        "APPROVALS_POLICY_FILE": str(TEST_POLICY),
        "APPROVALS_API_TOKEN": "e2e-token",
        "APPROVALS_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        if process.poll() is not None:
            pytest.fail(f"serve exited early: {process.stdout.read() if process.stdout else ''}")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", process
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


async def test_serve_files_and_answers_then_stops_cleanly(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    base, process = served
    headers = {"Authorization": "Bearer e2e-token"}
    event = {"code": "OFF_CONTRACT", "title": "Laptops", "requester": "rita", "amount": 900.0}
    async with ClientSession(base) as http:
        async with http.get("/readyz") as response:
            assert response.status == 200
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

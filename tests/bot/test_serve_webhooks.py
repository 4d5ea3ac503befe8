"""`approvals serve` sending webhooks to a real receiver, stopped with SIGTERM while a message
waits for its retry (a 429 with Retry-After), and a new `serve` on the same database
sending it exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import ClientSession

from tests.bot.webhook_receiver import Receiver, new_secret
from tests.conftest import TEST_POLICY

SECRET = new_secret(7)
TOKEN = "e2e-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _until(done: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class Served:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env={**env, "APPROVALS_PORT": str(self.port)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def listening(self) -> bool:
        if self.process.poll() is not None:
            output = self.process.stdout.read() if self.process.stdout else ""
            pytest.fail(f"serve exited early: {output}")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    async def stop(self) -> str:
        """SIGTERM, a clean exit, and what it logged."""
        self.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(self.process.wait, 30) == 0
        return self.process.stdout.read() if self.process.stdout else ""

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver({"hooks": SECRET})
    await receiver.start()
    yield receiver
    await receiver.close()


async def _serve(env: dict[str, str], started: list[Served]) -> Served:
    served = Served(env)
    started.append(served)
    await _until(served.listening, 30, "serve to listen")
    return served


async def test_a_restart_mid_retry_delivers_once(receiver: Receiver, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "APPROVALS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        "APPROVALS_POLICY_FILE": str(TEST_POLICY),
        "APPROVALS_API_TOKEN": TOKEN,
        "APPROVALS_WEBHOOK_URL": receiver.url("hooks"),
        "APPROVALS_WEBHOOK_SECRET": SECRET,
    }
    receiver.answer("hooks", (429, {"Retry-After": "2"}))
    started: list[Served] = []
    try:
        first = await _serve(env, started)
        event = {"code": "OFF_CONTRACT", "title": "Laptops", "requester": "rita", "amount": 900.0}
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            ClientSession(first.base) as http,
            http.post("/api/v1/exceptions", json=event, headers=headers) as response,
        ):
            assert response.status == 201
        await _until(lambda: len(receiver.received) == 1, 10, "the first attempt")
        log = await first.stop()  # while the message waits for its retry
        assert "Traceback" not in log

        second = await _serve(env, started)
        await _until(lambda: len(receiver.delivered("hooks")) == 1, 15, "the retry")
        # The receiver has the retry a moment before the server records it as delivered.
        delivered = 'approvals_webhook_attempts_total{outcome="delivered"} 1.0'
        deadline = time.monotonic() + 10
        async with ClientSession(second.base) as http:
            while True:
                async with http.get("/metrics") as response:
                    metrics = await response.text()
                if delivered in metrics or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
        assert await second.stop()
    finally:
        for served in started:
            served.kill()

    assert receiver.bad == []
    (attempt, retry) = receiver.received
    assert (attempt.answered, retry.answered) == (429, 200)
    assert attempt.webhook_id == retry.webhook_id
    assert retry.type == "exception.filed"
    assert retry.body["data"]["id"] == "EXC-000001"
    assert delivered in metrics  # the age of what waits is tested with a clock in test_metrics

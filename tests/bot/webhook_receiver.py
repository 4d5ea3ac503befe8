"""A webhook receiver for tests: a real aiohttp server on a random loopback port that verifies
every delivery with the `standardwebhooks` package and answers as its script says."""

from __future__ import annotations

import base64
import json
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook

# An answer: a status, or a status with headers (429 with Retry-After).
Answer = int | tuple[int, dict[str, str]]


def new_secret(seed: int = 1) -> str:
    return "whsec_" + base64.b64encode(bytes([seed]) * 32).decode()


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    webhook_id: str
    type: str
    case: str
    body: dict[str, Any]
    answered: int


class Receiver:
    """Verifies with the secret of each path (None: takes the body unverified, for a clock
    far from real time); a signature that does not verify is answered 401 and recorded in
    `bad`."""

    def __init__(self, secrets: dict[str, str | None]) -> None:
        self.secrets = secrets
        self.script: dict[str, deque[Answer]] = defaultdict(deque)
        self.received: list[Received] = []
        self.bad: list[str] = []
        self._server: TestServer | None = None

    def answer(self, path: str, *answers: Answer) -> None:
        self.script[path].extend(answers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{path}", self._receive)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    def url(self, path: str) -> str:
        assert self._server is not None
        return str(self._server.make_url(f"/{path}"))

    def delivered(self, path: str) -> list[Received]:
        """What `path` accepted (2xx), in arrival order."""
        return [r for r in self.received if r.path == path and 200 <= r.answered < 300]

    def ids(self, path: str) -> list[str]:
        return [r.webhook_id for r in self.received if r.path == path]

    async def _receive(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        raw = await request.read()
        headers = dict(request.headers)
        secret = self.secrets[path]
        try:
            body = json.loads(raw) if secret is None else Webhook(secret).verify(raw, headers)
        except Exception as error:
            self.bad.append(f"{path}: {error}")
            return web.Response(status=401)
        assert request.headers["Content-Type"] == "application/json"
        assert json.loads(raw) == body
        planned = self.script[path].popleft() if self.script[path] else 200
        status, headers = planned if isinstance(planned, tuple) else (planned, {})
        self.received.append(
            Received(
                path,
                request.headers["webhook-id"],
                body["type"],
                body["data"]["id"],
                body,
                status,
            )
        )
        return web.Response(status=status, headers=headers)

"""The common part of the Teams fakes: an aiohttp app on 127.0.0.1, a random port, optional TLS,
started and closed cleanly (also as an async context manager), plus queued fault injection."""

from __future__ import annotations

import socket
import ssl
from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Fault:
    status: int
    retry_after: int | None = None
    method: str | None = None  # only requests with this HTTP method (None: any)


class FaultQueue:
    """Faults answered instead of the next matching requests, in order."""

    def __init__(self) -> None:
        self._faults: deque[Fault] = deque()

    def add(
        self, status: int, times: int = 1, retry_after: int | None = None, method: str | None = None
    ) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        for _ in range(times):
            self._faults.append(Fault(status, retry_after, method.upper() if method else None))

    def take(self, method: str) -> Fault | None:
        for fault in self._faults:
            if fault.method is None or fault.method == method.upper():
                self._faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self._faults.clear()

    def __len__(self) -> int:
        return len(self._faults)


class FakeServer:
    """Subclasses build their routes in `_routes`; `ssl_context` makes it https."""

    scheme = "http"

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._port = 0

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _ssl_context(self) -> ssl.SSLContext | None:
        return None

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application()
        self._routes(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            self._port = sock.getsockname()[1]
            await web.SockSite(runner, sock, ssl_context=self._ssl_context()).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner

    async def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def port(self) -> int:
        if self._runner is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return self._port

    @property
    def origin(self) -> str:
        """scheme://127.0.0.1:port, no trailing slash."""
        return f"{self.scheme}://127.0.0.1:{self.port}"


def fault_response(fault: Fault, body: dict[str, object]) -> web.Response:
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    return web.json_response(body, status=fault.status, headers=headers)

"""A fake Slack for Socket Mode: the fake Web API (FakeSlackAPI) plus what Socket Mode adds, served
by the same aiohttp server (127.0.0.1, a random port).

Socket Mode as slack_sdk's aiohttp client (what Bolt's AsyncSocketModeHandler runs) does it:

1. `apps.connections.open` on the Web API client's base_url, with the app-level token (xapp-...)
   as the bearer token; the answer's `url` is a one-use WebSocket URL (here
   `ws://127.0.0.1:PORT/link?ticket=...&app_id=...`). Other tokens are refused as Slack does.
2. The app opens that WebSocket; Slack says `{"type": "hello", ...}`.
3. Slack pushes envelopes `{"envelope_id", "type": "slash_commands" | "interactive" |
   "events_api", "payload", "accepts_response_payload"}`; the app acknowledges each with
   `{"envelope_id", "payload"?}` (the payload is what an HTTP app would answer in its body).
4. `{"type": "disconnect", "reason": "refresh_requested"}`: the app connects again (1, 2).

    async with FakeSocketModeSlack(users=...) as fake:
        # SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=fake.url
        ack = await fake.request("slash_commands", slash_command_payload(...))
        assert ack.payload is None  # acknowledged with an empty body

Everything else (messages, ephemerals, views, response_urls, faults) is FakeSlackAPI's; the
Web API calls, apps.connections.open included, are in `calls()`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl

from aiohttp import WSCloseCode, WSMsgType, web

from tests.slack.fake_slack_api import BOT_TOKEN, FakeSlackAPI, SlackUser
from tests.slack.signing import API_APP_ID, NOWHERE, slash_command_body

APP_TOKEN = "xapp-1-A0APPROVALS-1-fake-app-token"
CONNECTIONS_OPEN = "apps.connections.open"
LINK_PATH = "/link"
HOST = "applink-fake-1"  # Slack names the server in debug_info
WAIT_SECONDS = 5.0  # how long `connection()`, `ack_of()` and `request()` wait by default

EnvelopeType = Literal["slash_commands", "interactive", "events_api"]
# The interactive payloads whose ack may carry a response (`response_action`, options).
_ANSWERABLE = frozenset({"view_submission", "block_suggestion"})

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Ack:
    """The app's answer to one envelope."""

    envelope_id: str
    payload: dict[str, Any] | None  # None: acknowledged with an empty body
    seconds: float  # from the envelope being sent to the ack arriving
    connection: int  # Connection.number it came on


@dataclass(slots=True)
class Connection:
    """One WebSocket the app opened; `received` is every message it sent, parsed."""

    number: int  # 1 for the first connection
    ticket: str
    ws: web.WebSocketResponse
    received: list[Any] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return not self.ws.closed


def slash_command_payload(
    *,
    command: str,
    text: str = "",
    user_id: str,
    response_url: str = NOWHERE,
    trigger_id: str = "111.222.trigger",
) -> dict[str, str]:
    """A slash command as Socket Mode carries it: the form fields Slack posts over HTTP, as an
    object."""
    body = slash_command_body(
        command=command,
        text=text,
        user_id=user_id,
        response_url=response_url,
        trigger_id=trigger_id,
    )
    return dict(parse_qsl(body, keep_blank_values=True))


class FakeSocketModeSlack(FakeSlackAPI):
    def __init__(
        self,
        *,
        users: Iterable[SlackUser] = (),
        tokens: Iterable[str] = (BOT_TOKEN,),
        app_tokens: Iterable[str] = (APP_TOKEN,),
        channels: Iterable[str] = (),
    ) -> None:
        super().__init__(users=users, tokens=tokens, channels=channels)
        self._app_tokens = set(app_tokens)
        self._tickets: set[str] = set()  # issued by apps.connections.open, not yet used
        self._issued = 0
        self._envelopes = 0
        self._connections: list[Connection] = []
        self._sent: dict[str, float] = {}  # envelope id -> time.monotonic() when sent
        self._acks: list[Ack] = []

    # --- running ------------------------------------------------------------------------

    async def start(self) -> None:
        # FakeSlackAPI.start with one more route: aiohttp freezes an app's routes once it runs,
        # so the WebSocket cannot be added to the parent's app afterwards.
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/hooks/{key}", self._handle_hook)
        app.router.add_get(LINK_PATH, self._handle_link)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def __aenter__(self) -> FakeSocketModeSlack:
        await self.start()
        return self

    async def close(self) -> None:
        """Close the WebSockets still open (as Slack going away would), then the server."""
        for connection in self._connections:
            if connection.open:
                await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"fake closing")
        await super().close()

    # --- what happened ------------------------------------------------------------------

    @property
    def connections(self) -> list[Connection]:
        """Every WebSocket the app opened, oldest first (closed ones too)."""
        return list(self._connections)

    def acks(self) -> list[Ack]:
        return list(self._acks)

    async def connection(self, within: float = WAIT_SECONDS) -> Connection:
        """The newest open connection, once there is one."""
        return await _until(
            lambda: next((c for c in reversed(self._connections) if c.open), None),
            within,
            "an open Socket Mode connection",
        )

    async def ack_of(self, envelope_id: str, within: float = WAIT_SECONDS) -> Ack:
        return await _until(
            lambda: next((a for a in self._acks if a.envelope_id == envelope_id), None),
            within,
            f"the ack of envelope {envelope_id}",
        )

    # --- pushing to the app -------------------------------------------------------------

    async def send_envelope(
        self,
        kind: EnvelopeType,
        payload: Mapping[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        envelope_id: str | None = None,
    ) -> str:
        """Push an envelope on the newest open connection; returns its envelope_id.
        `accepts_response_payload` defaults to what Slack sends for the kind of payload."""
        connection = await self.connection()
        self._envelopes += 1
        envelope_id = envelope_id or f"{self._envelopes:04d}-fake-envelope"
        if accepts_response_payload is None:
            accepts_response_payload = kind == "slash_commands" or (
                kind == "interactive" and payload.get("type") in _ANSWERABLE
            )
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": dict(payload),
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope |= {"retry_attempt": 0, "retry_reason": ""}
        self._sent[envelope_id] = time.monotonic()
        await connection.ws.send_json(envelope)
        return envelope_id

    async def request(
        self,
        kind: EnvelopeType,
        payload: Mapping[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        within: float = WAIT_SECONDS,
    ) -> Ack:
        """Push an envelope and wait for its ack."""
        envelope_id = await self.send_envelope(
            kind, payload, accepts_response_payload=accepts_response_payload
        )
        return await self.ack_of(envelope_id, within)

    async def ask_to_reconnect(self, reason: str = "refresh_requested") -> Connection:
        """Send `disconnect` on the newest open connection (Slack does so every few hours);
        returns that connection."""
        connection = await self.connection()
        await connection.ws.send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}}
        )
        return connection

    # --- the Web API: apps.connections.open, and which token goes where ---------------------

    def _answer(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if method == CONNECTIONS_OPEN and not self._state.faults.get(method):
            return 200, self._connections_open(token), {}
        if method != CONNECTIONS_OPEN and token in self._app_tokens:
            # An app-level token opens connections only; methods want the bot token.
            return 200, {"ok": False, "error": "not_allowed_token_type"}, {}
        return super()._answer(method, params, token)  # faults injected with fail_next too

    def _connections_open(self, token: str | None) -> dict[str, Any]:
        if token is None:
            return {"ok": False, "error": "not_authed"}
        if token in self._tokens:
            return {"ok": False, "error": "not_allowed_token_type"}  # a bot token
        if token not in self._app_tokens:
            return {"ok": False, "error": "invalid_auth"}
        self._issued += 1
        ticket = f"fake-ticket-{self._issued:04d}"
        self._tickets.add(ticket)
        base = self.url.removesuffix("/api/").replace("http://", "ws://", 1)
        return {"ok": True, "url": f"{base}{LINK_PATH}?ticket={ticket}&app_id={API_APP_ID}"}

    # --- the WebSocket ------------------------------------------------------------------

    async def _handle_link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:  # unknown, or already used: a URL serves once
            return web.Response(status=401, text="invalid_ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse()  # answers the client's pings with pongs of the same data
        await ws.prepare(request)
        connection = Connection(len(self._connections) + 1, ticket, ws)
        self._connections.append(connection)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": sum(c.open for c in self._connections),
                "debug_info": {
                    "host": HOST,
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": API_APP_ID},
            }
        )
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                self._received(connection, str(message.data))
        return ws

    def _received(self, connection: Connection, text: str) -> None:
        at = time.monotonic()
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            connection.received.append(text)
            return
        connection.received.append(message)
        if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
            envelope_id = message["envelope_id"]
            payload = message.get("payload")
            self._acks.append(
                Ack(
                    envelope_id,
                    payload if isinstance(payload, dict) else None,
                    at - self._sent.get(envelope_id, at),
                    connection.number,
                )
            )


async def _until(find: Callable[[], T | None], within: float, what: str) -> T:
    deadline = time.monotonic() + within
    while (found := find()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {within} seconds")
        await asyncio.sleep(0.01)
    return found

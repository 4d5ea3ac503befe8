"""Building the Slack edge from settings: the Web API client, the Bolt app, the route."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.audit_download import AuditDownloads
from bot.dashboard_access import DashboardAccess
from bot.metrics import ApiObserver
from bot.settings import ConfigurationError, Settings
from bot.slack.directory import SlackDirectory
from bot.slack.inbound import JSON, MAX_BODY_BYTES, Accepted, read_body
from bot.slack.interactions import SlackDeps, SlackInteractions
from bot.slack.listeners import register
from bot.slack.messenger import SlackMessenger
from bot.slack.metered import MeteredWebClient
from bot.slack.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_problem
from bot.tasks import BackgroundTasks
from handlers.context import Services

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
# slack_sdk retries 429 (honouring Retry-After) and 5xx itself, a few times; what still fails
# stays in the outbox, which retries later with backoff.
RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2
# Headers of Slack's that Bolt reads (an event's retries); no other header reaches Bolt.
_BOLT_HEADERS = ("X-Slack-Retry-Num", "X-Slack-Retry-Reason")


async def _read_at_most(request: web.Request, limit: int) -> bytes | None:
    """The whole body, or None when it is longer than `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _refusal(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@dataclass
class SlackEdge:
    app: AsyncApp
    client: AsyncWebClient
    messenger: SlackMessenger
    signing_secret: str = ""
    socket_mode: AsyncSocketModeHandler | None = None
    app_token: str | None = None

    def add_routes(self, http: web.Application) -> None:
        if self.socket_mode is None:
            http.router.add_post(SLACK_EVENTS_PATH, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        """Check the signature on the raw bytes, then read the body (bot.slack.inbound), and
        only then hand Bolt the body as read, re-encoded as JSON."""
        raw = await _read_at_most(request, MAX_BODY_BYTES)
        if raw is None:
            log.warning("refused a Slack request: the body is over %d bytes", MAX_BODY_BYTES)
            return _refusal(413, "request body too large")
        problem = signature_problem(
            self.signing_secret,
            raw,
            request.headers.getall(TIMESTAMP_HEADER, []),
            request.headers.getall(SIGNATURE_HEADER, []),
            time.time(),
        )
        if problem is not None:
            log.warning("refused a Slack request: %s", problem)
            return _refusal(401, "invalid request")
        read = read_body(raw, request.content_type)
        if not isinstance(read, Accepted):
            log.warning("dropped a signed Slack request: %s", read.reason)
            if read.status == 200:
                return web.Response(status=200)
            return _refusal(read.status, read.reason)
        headers: dict[str, str | Sequence[str]] = {"Content-Type": JSON}
        for name in _BOLT_HEADERS:
            value = request.headers.get(name)
            if value is not None and value.isascii():
                headers[name] = value
        bolt_request = AsyncBoltRequest(body=json.dumps(read.body), headers=headers)
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    async def start(self) -> None:
        if self.socket_mode is None:
            return
        # slack_sdk retries a refused app token forever; check it once so start-up fails fast.
        try:
            await self.client.apps_connections_open(app_token=self.app_token or "")
        except SlackApiError as error:
            problem = error.response.get("error") or f"HTTP {error.response.status_code}"
            raise ConfigurationError(
                f"Slack refused SLACK_APP_TOKEN for Socket Mode: {problem}"
            ) from error
        await self.socket_mode.connect_async()  # type: ignore[no-untyped-call]
        log.info("Slack connected in Socket Mode")

    async def stop(self) -> None:
        if self.socket_mode is not None:
            await self.socket_mode.close_async()  # type: ignore[no-untyped-call]


SLACK_API = "https://slack.com/api/"


def web_client(settings: Settings, observe: ApiObserver | None = None) -> AsyncWebClient:
    """The Web API client; with `observe`, one that times each call for /metrics."""
    options: dict[str, Any] = {
        "token": settings.SLACK_BOT_TOKEN,
        "base_url": settings.SLACK_API_URL or SLACK_API,
        "retry_handlers": [
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            AsyncServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
        ],
    }
    if observe is None:
        return AsyncWebClient(**options)
    return MeteredWebClient(observe, **options)


def build_slack(
    settings: Settings,
    services: Services,
    tasks: BackgroundTasks,
    wake_delivery: Callable[[], None],
    *,
    downloads: AuditDownloads | None = None,
    observe: ApiObserver | None = None,
) -> SlackEdge:
    client = web_client(settings, observe)
    socket = bool(settings.SLACK_APP_TOKEN)
    secret = settings.SLACK_SIGNING_SECRET or ""
    # Over HTTP the edge checks signatures itself, on the raw bytes, before anything is parsed
    # (SlackEdge.handle); Bolt gets the body as read there, which it could not verify again.
    app = AsyncApp(client=client, signing_secret=secret, request_verification_enabled=False)
    directory = SlackDirectory(
        client, lambda: services.policy, email_identity=settings.SLACK_EMAIL_IDENTITY
    )
    dashboard = DashboardAccess.of(downloads) if downloads is not None else None
    deps = SlackDeps(services, client, directory, tasks, wake_delivery, dashboard)
    register(app, SlackInteractions(deps), downloads)
    edge = SlackEdge(
        app=app, client=client, messenger=SlackMessenger(client, directory), signing_secret=secret
    )
    if socket:
        edge.socket_mode = AsyncSocketModeHandler(app, settings.SLACK_APP_TOKEN)
        edge.app_token = settings.SLACK_APP_TOKEN
    return edge

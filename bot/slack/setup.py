"""Building the Slack edge from settings: the Web API client, the Bolt app, the route."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import ConfigurationError, Settings
from bot.slack.directory import SlackDirectory
from bot.slack.interactions import SlackDeps, SlackInteractions
from bot.slack.listeners import register
from bot.slack.messenger import SlackMessenger
from bot.tasks import BackgroundTasks
from handlers.context import Services

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
# slack_sdk retries 429 (honouring Retry-After) and 5xx itself, a few times; what still fails
# stays in the outbox, which retries later with backoff.
RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2


@dataclass
class SlackEdge:
    app: AsyncApp
    client: AsyncWebClient
    messenger: SlackMessenger
    socket_mode: AsyncSocketModeHandler | None = None
    app_token: str | None = None

    def add_routes(self, http: web.Application) -> None:
        if self.socket_mode is None:
            http.router.add_post(SLACK_EVENTS_PATH, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

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


def web_client(settings: Settings) -> AsyncWebClient:
    return AsyncWebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL or SLACK_API,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            AsyncServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
        ],
    )


def build_slack(
    settings: Settings,
    services: Services,
    tasks: BackgroundTasks,
    wake_delivery: Callable[[], None],
) -> SlackEdge:
    client = web_client(settings)
    socket = bool(settings.SLACK_APP_TOKEN)
    app = AsyncApp(
        client=client,
        signing_secret=settings.SLACK_SIGNING_SECRET or "",
        request_verification_enabled=not socket,
    )
    directory = SlackDirectory(client, lambda: services.policy)
    register(app, SlackInteractions(SlackDeps(services, client, directory, tasks, wake_delivery)))
    edge = SlackEdge(app=app, client=client, messenger=SlackMessenger(client, directory))
    if socket:
        edge.socket_mode = AsyncSocketModeHandler(app, settings.SLACK_APP_TOKEN)
        edge.app_token = settings.SLACK_APP_TOKEN
    return edge

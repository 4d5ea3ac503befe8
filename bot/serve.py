"""`approvals serve`: the HTTP server and the background work that runs beside it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from bot.audit_download import AuditDownloads
from bot.dashboard_access import DashboardAccess
from bot.dashboard_web import DashboardRoutes
from bot.delivery import OutboxDeliverer
from bot.delivery_loop import DeliveryLoop
from bot.http_errors import METRICS_KEY
from bot.messaging import Messenger
from bot.metrics import Metrics
from bot.policy_follower import PolicyFollower
from bot.scheduler import start_sweeping
from bot.server import create_app
from bot.settings import ConfigurationError, Settings
from bot.tasks import BackgroundTasks
from bot.webhook_config import Endpoints, source_secret_findings
from bot.webhook_delivery import WebhookDeliverer
from bot.webhook_loop import WebhookLoop

if TYPE_CHECKING:
    from bot.slack.setup import SlackEdge
    from bot.teams.setup import TeamsEdge
from handlers.context import Services
from storage.migrate import schema_gap

log = logging.getLogger(__name__)

# The drain on SIGTERM, inside Kubernetes' default 30 s grace period (deploy/kubernetes):
HTTP_DRAIN_SECONDS = 10.0  # requests in flight finish; any still running are then cancelled
WORK_DRAIN_SECONDS = 12.0  # then the sweep, presses and deliveries in flight, side by side


@dataclass
class Runtime:
    """Everything `serve` runs: the HTTP app, the mounted platforms, delivery, tasks."""

    app: web.Application
    delivery: DeliveryLoop
    webhooks: WebhookLoop
    tasks: BackgroundTasks
    messengers: list[Messenger]
    slack: SlackEdge | None = None
    teams: TeamsEdge | None = None
    _deaf: bool = field(default=False, init=False)  # Socket Mode closed already

    async def start(self) -> None:
        if self.slack is not None:
            await self.slack.start()
        if self.messengers:
            self.delivery.start()
        self.webhooks.start()  # idle, it only reads: the policy may gain endpoints later

    def wake(self) -> None:
        """Something was written for delivery: chat messages, webhooks, or both."""
        self.delivery.wake()
        self.webhooks.wake()

    async def stop_receiving(self) -> None:
        """No more chat events: Slack's Socket Mode closes (HTTP events stop with the site)."""
        if self.slack is not None and not self._deaf:
            self._deaf = True
            await self.slack.stop()

    async def stop(self, grace: float = WORK_DRAIN_SECONDS) -> None:
        """Finish the work in flight within about `grace` seconds, then close."""
        await self.stop_receiving()
        deadline = asyncio.get_running_loop().time() + grace
        await self.tasks.drain(grace)  # acknowledged presses finish their work
        left = max(deadline - asyncio.get_running_loop().time(), 0.5)
        # the attempts in flight finish and are recorded, the other claims are handed back
        await asyncio.gather(self.webhooks.stop(left), self.delivery.stop(left))
        if self.teams is not None:
            await self.teams.stop()


# The event loop shares the GIL with SQLite's unit-of-work threads (storage.writer). At
# Python's default 5 ms switch interval the loop, back from each socket call, can wait that
# long for a unit's Python to let go: a burst of Slack presses then acks late (bench.
# slack_presses: p99 ours/bare 2.8 to 3.3 at 5 ms, 1.8 to 2.2 at 0.5 ms).
GIL_SWITCH_SECONDS = 0.0005


def build_runtime(services: Services, settings: Settings) -> Runtime:
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    tasks = BackgroundTasks()
    downloads = AuditDownloads.from_settings(settings)  # one signing key for every platform
    messengers: list[Messenger] = []
    runtime: Runtime | None = None
    metrics = Metrics.create()
    observe = metrics.observe_api  # the platforms' API calls, timed

    def wake_delivery() -> None:
        if runtime is not None:
            runtime.wake()

    slack: SlackEdge | None = None
    # the dashboard's links are signed with the audit links' key (bot.dashboard_access)
    mounts: list[Callable[[web.Application], None]] = [
        DashboardRoutes(DashboardAccess.of(downloads)).add_routes
    ]
    if settings.slack_enabled:
        from bot.slack.setup import build_slack  # Slack's libraries load only when used

        slack = build_slack(
            settings, services, tasks, wake_delivery, downloads=downloads, observe=observe
        )
        messengers.append(slack.messenger)
        mounts.append(slack.add_routes)
    teams: TeamsEdge | None = None
    if settings.teams_enabled:
        from bot.teams.setup import build_teams  # Teams' libraries load only when used

        teams = build_teams(
            settings, services, tasks, wake_delivery, downloads=downloads, observe=observe
        )
        messengers.append(teams.messenger)
        mounts.append(teams.add_routes)
    delivery = DeliveryLoop(OutboxDeliverer(services, messengers, metrics=metrics))
    endpoints = Endpoints(services, settings.APPROVALS_WEBHOOK_SECRET)
    deliverer = WebhookDeliverer(services, endpoints, metrics=metrics, on_notify=delivery.wake)
    app = create_app(
        services,
        api_token=settings.APPROVALS_API_TOKEN,
        metrics_=metrics,
        mounts=mounts,
        on_change=wake_delivery,
        downloads=downloads,
        platforms=[m.platform for m in messengers],
    )
    runtime = Runtime(app, delivery, WebhookLoop(deliverer), tasks, messengers, slack, teams)
    return runtime


async def serve(services: Services, settings: Settings) -> int:
    """Serve until SIGINT or SIGTERM, then stop background work and close cleanly."""
    check_webhook_secrets(services)
    runtime = build_runtime(services, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before listening: a SIGTERM then still drains
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(runtime.app, access_log=None, shutdown_timeout=HTTP_DRAIN_SECONDS)
    await runner.setup()
    site = web.TCPSite(runner, settings.APPROVALS_HOST, settings.APPROVALS_PORT)
    await site.start()
    await runtime.start()
    # scheduler: the overdue sweep runs beside the runtime (bot.scheduler)
    sweeps = start_sweeping(
        services, settings.APPROVALS_SWEEP_SECONDS, runtime.wake, runtime.app[METRICS_KEY]
    )
    follower = PolicyFollower(services)  # another replica (or chat) may activate a version
    follower.start()
    log.info(
        "serving on http://%s:%s (policy %s, version %s; platforms: %s)",
        settings.APPROVALS_HOST,
        settings.APPROVALS_PORT,
        services.policy.name,
        services.policy.version[:12],
        ", ".join(m.platform for m in runtime.messengers) or "none",
    )
    if not runtime.messengers:
        log.warning("no chat platform connected: chat messages wait in the outbox until one is")
    if not settings.APPROVALS_API_TOKEN:
        log.warning("APPROVALS_API_TOKEN is not set: the intake API answers 503")
    if (gap := await schema_gap(services.db)) is not None:
        log.error("%s; until then /readyz and every request that needs it answer 503", gap)
    try:
        await stop.wait()
    finally:
        log.info("shutting down: no new connections, draining what is in flight")
        await runtime.stop_receiving()
        await runner.cleanup()  # stops listening, then waits for requests in flight (bounded)
        await follower.stop()
        # the sweep and the deliveries are independent: they drain side by side
        await asyncio.gather(sweeps.stop(WORK_DRAIN_SECONDS), runtime.stop(WORK_DRAIN_SECONDS))
        log.info("stopped")
    return 0


def check_webhook_secrets(services: Services) -> None:
    """The secrets the policy's sources name, here: a set variable that is not a secret stops
    start-up; an unset one is a warning (see bot.webhook_config)."""
    for finding in source_secret_findings(services.policy, os.environ):
        if finding.fatal:
            raise ConfigurationError(
                f"Configuration error: {finding.variable} (named by {finding.where}) "
                f"{finding.message}"
            )
        log.warning("webhooks: %s", finding)

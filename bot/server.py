"""The aiohttp application: every HTTP route of `approvals serve`, built from injected parts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.audit_download import AuditDownloads
from bot.http_errors import METRICS_KEY, errors_and_metrics
from bot.intake import API_TOKEN_KEY, CHANGES_KEY, SERVICES_KEY, ChangeListener, add_intake_routes
from bot.log_format import correlate, correlation_header
from bot.metrics import Metrics
from bot.metrics_reads import ScrapeReads
from handlers.context import Services
from storage.migrate import schema_gap

log = logging.getLogger(__name__)

READS_KEY = web.AppKey("metrics_reads", ScrapeReads)
CHAT_KEY = web.AppKey("chat_platforms", tuple[str, ...])
NO_CHAT = "none connected: chat messages wait in the outbox"


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    svc = request.app[SERVICES_KEY]
    try:
        await svc.db.ping()
    except Exception as error:
        log.warning("readiness: database unreachable: %s", error)
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    gap = await schema_gap(svc.db)
    if gap is not None:
        log.warning("readiness: %s", gap)
        body = {"status": "unavailable", "database": "needs migration", "error": gap}
        return web.json_response(body, status=503)
    platforms = request.app[CHAT_KEY]
    # Without a chat platform the API still works: ready, saying where messages wait.
    chat: list[str] | str = list(platforms) if platforms else NO_CHAT
    return web.json_response(
        {"status": "ok", "database": "ok", "policy_version": svc.policy.version, "chat": chat}
    )


async def metrics(request: web.Request) -> web.Response:
    await request.app[READS_KEY].update(request.app[SERVICES_KEY])
    body = generate_latest(request.app[METRICS_KEY].registry)
    response = web.Response(body=body)
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    response.charset = "utf-8"
    return response


def create_app(
    services: Services,
    *,
    api_token: str | None,
    metrics_: Metrics | None = None,
    mounts: Sequence[Callable[[web.Application], None]] = (),
    on_change: Callable[[], None] | None = None,
    downloads: AuditDownloads | None = None,
    platforms: Sequence[str] = (),
) -> web.Application:
    """The HTTP app; each of `mounts` adds a platform's routes (Slack, Teams); `downloads`
    serves the audit export links handed out in chat; `platforms` are the chat platforms
    connected (for /readyz)."""
    app = web.Application(middlewares=[correlate, errors_and_metrics])  # ids in every log line
    app.on_response_prepare.append(correlation_header)
    app[SERVICES_KEY] = services
    registry = metrics_ or Metrics.create()
    app[METRICS_KEY] = registry
    app[READS_KEY] = ScrapeReads(registry)
    app[CHAT_KEY] = tuple(platforms)
    services.db.on_commit = registry.count_committed  # only committed changes count
    if api_token:
        app[API_TOKEN_KEY] = api_token
    if on_change is not None:
        app[CHANGES_KEY] = ChangeListener(on_change)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    add_intake_routes(app)
    if downloads is not None:
        downloads.add_routes(app)
    for mount in mounts:
        mount(app)
    return app

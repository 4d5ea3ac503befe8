"""The aiohttp application: every HTTP route of `approvals serve`, built from injected parts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.audit_download import AuditDownloads
from bot.http_errors import METRICS_KEY, errors_and_metrics
from bot.intake import API_TOKEN_KEY, CHANGES_KEY, SERVICES_KEY, ChangeListener, add_intake_routes
from bot.metrics import Metrics
from handlers.context import Services
from storage import cases, outbox, webhooks
from storage.migrate import schema_gap
from storage.records import CaseStatus

log = logging.getLogger(__name__)


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
    return web.json_response(
        {"status": "ok", "database": "ok", "policy_version": svc.policy.version}
    )


async def metrics(request: web.Request) -> web.Response:
    registry = request.app[METRICS_KEY]
    svc = request.app[SERVICES_KEY]
    async with svc.db.reading() as conn:
        by_status = await cases.count_by_status(conn)
        registry.outbox_pending.set(await outbox.pending_count(conn))
        oldest = await webhooks.oldest_undelivered(conn)
    age = (svc.clock.now() - oldest).total_seconds() if oldest is not None else 0.0
    registry.webhook_oldest_pending.set(max(age, 0.0))
    for status in CaseStatus:
        registry.cases.labels(status.value).set(by_status.get(status.value, 0))
    body = generate_latest(registry.registry)
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
) -> web.Application:
    """The HTTP app; each of `mounts` adds a platform's routes (Slack, Teams); `downloads`
    serves the audit export links handed out in chat."""
    app = web.Application(middlewares=[errors_and_metrics])
    app[SERVICES_KEY] = services
    app[METRICS_KEY] = metrics_ or Metrics.create()
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

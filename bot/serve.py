"""`approvals serve`: the HTTP server and the background work that runs beside it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from bot.delivery import OutboxDeliverer
from bot.delivery_loop import DeliveryLoop
from bot.messaging import Messenger
from bot.server import create_app
from bot.settings import Settings
from handlers.context import Services

log = logging.getLogger(__name__)


async def serve(services: Services, settings: Settings) -> int:
    """Serve until SIGINT or SIGTERM, then stop background work and close cleanly."""
    messengers: list[Messenger] = []
    delivery = DeliveryLoop(OutboxDeliverer(services, messengers))
    app = create_app(services, api_token=settings.APPROVALS_API_TOKEN)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.APPROVALS_HOST, settings.APPROVALS_PORT)
    await site.start()
    if messengers:
        delivery.start()
    # scheduler: the overdue sweep starts here
    log.info(
        "serving on http://%s:%s (policy %s, version %s; platforms: %s)",
        settings.APPROVALS_HOST,
        settings.APPROVALS_PORT,
        services.policy.name,
        services.policy.version[:12],
        ", ".join(m.platform for m in messengers) or "none",
    )
    if not settings.APPROVALS_API_TOKEN:
        log.warning("APPROVALS_API_TOKEN is not set: the intake API answers 503")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await delivery.stop()
        await runner.cleanup()
    return 0

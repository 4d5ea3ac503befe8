"""Runs the outbox deliverer in the background of `serve` (bot.polling_loop).

Stopping drains: the message in flight finishes and is recorded (cancelled after the grace),
then the claims on the rest of the batch are handed back, so the next process sends them at
once instead of after the lease, and nothing is marked delivered that was not sent.
"""

from __future__ import annotations

import logging

from bot.delivery import OutboxDeliverer
from bot.polling_loop import POLL_SECONDS, PollingLoop
from storage import claims

log = logging.getLogger(__name__)

DRAIN_SECONDS = 15.0  # a message in flight (a platform call with its retries) and its record


class DeliveryLoop(PollingLoop):
    name = "outbox-delivery"

    def __init__(self, deliverer: OutboxDeliverer, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__(poll_seconds)
        self.deliverer = deliverer

    async def round(self) -> bool:
        return await self.deliverer.deliver_due() > 0

    def on_start(self) -> None:
        self.deliverer.stopping = False

    def on_stopping(self) -> None:
        self.deliverer.stopping = True  # the batch stops after the message in flight

    async def stop(self, grace: float = DRAIN_SECONDS) -> None:
        await super().stop(grace)

    async def after_stop(self) -> None:
        owner = self.deliverer.owner
        try:
            released = await self.deliverer.services.db.write(
                lambda conn: claims.release_all(conn, owner)
            )
        except Exception as error:  # the database is gone: the lease runs out instead
            log.warning("outbox claims not handed back at shutdown: %s", error)
            return
        if released:
            log.info("outbox: %s claimed messages handed back unsent", released)

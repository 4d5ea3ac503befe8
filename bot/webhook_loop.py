"""Runs the webhook deliverer in the background of `serve` (bot.polling_loop).

Stopping drains: the attempts in flight finish (each within its timeout) and are recorded,
so a message between retries is picked up by the next process exactly where it was.
"""

from __future__ import annotations

from bot.polling_loop import POLL_SECONDS, PollingLoop
from bot.webhook_delivery import ATTEMPT_TIMEOUT, BATCH, WebhookDeliverer

DRAIN_SECONDS = ATTEMPT_TIMEOUT + 5.0  # an attempt in flight, and recording its outcome


class WebhookLoop(PollingLoop):
    name = "webhook-delivery"

    def __init__(self, deliverer: WebhookDeliverer, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__(poll_seconds)
        self.deliverer = deliverer

    async def round(self) -> bool:
        return await self.deliverer.deliver_due() >= BATCH

    async def stop(self, grace: float = DRAIN_SECONDS) -> None:
        await super().stop(grace)

    async def after_stop(self) -> None:
        await self.deliverer.close()  # the HTTP session, and this deliverer's claims

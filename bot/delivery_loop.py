"""Runs the outbox deliverer in the background of `serve`: at once when a use case has
written messages (`wake()`), and every few seconds for retries and other replicas' work."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.delivery import OutboxDeliverer

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0


class DeliveryLoop:
    def __init__(self, deliverer: OutboxDeliverer, poll_seconds: float = POLL_SECONDS) -> None:
        self.deliverer = deliverer
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-delivery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                while await self.deliverer.deliver_due() > 0:
                    pass  # a full batch may mean more is waiting
            except Exception:
                log.exception("outbox delivery failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

"""Runs the outbox deliverer in the background of `serve`: at once when a use case has
written messages (`wake()`), and every few seconds for retries and other replicas' work.

Stopping drains: the message in flight finishes and is recorded (cancelled after the grace),
then the claims on the rest of the batch are handed back, so the next process sends them at
once instead of after the lease, and nothing is marked delivered that was not sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.delivery import OutboxDeliverer
from storage import claims

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
DRAIN_SECONDS = 15.0  # a message in flight (a platform call with its retries) and its record


class DeliveryLoop:
    def __init__(self, deliverer: OutboxDeliverer, poll_seconds: float = POLL_SECONDS) -> None:
        self.deliverer = deliverer
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = self.deliverer.stopping = False
            self._task = asyncio.create_task(self._run(), name="outbox-delivery")

    async def stop(self, grace: float = DRAIN_SECONDS) -> None:
        """Let the message in flight finish (cancelled after `grace` seconds), then hand back
        the claims left."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = self.deliverer.stopping = True  # the batch stops after this message
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            log.warning("outbox delivery still busy after %gs at shutdown; cancelled", grace)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
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

    async def _run(self) -> None:
        while not self._stopping:
            try:
                while not self._stopping and await self.deliverer.deliver_due() > 0:
                    pass  # a full batch may mean more is waiting
            except Exception:
                log.exception("outbox delivery failed; trying again shortly")
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

"""Runs the webhook deliverer in the background of `serve`: at once when a change queued
webhooks (`wake()`), and every few seconds for retries and other replicas' work.

Stopping drains: the attempts in flight finish (each within its timeout) and are recorded,
so a message between retries is picked up by the next process exactly where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.webhook_delivery import ATTEMPT_TIMEOUT, BATCH, WebhookDeliverer

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
DRAIN_SECONDS = ATTEMPT_TIMEOUT + 5.0  # an attempt in flight, and recording its outcome


class WebhookLoop:
    def __init__(self, deliverer: WebhookDeliverer, poll_seconds: float = POLL_SECONDS) -> None:
        self.deliverer = deliverer
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="webhook-delivery")

    async def stop(self, grace: float = DRAIN_SECONDS) -> None:
        """Let the batch in flight finish (cancelled after `grace` seconds), then close."""
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        await self.deliverer.close()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                while not self._stopping and await self.deliverer.deliver_due() >= BATCH:
                    pass  # a full batch may mean more is waiting
            except Exception:
                log.exception("webhook delivery failed; trying again shortly")
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

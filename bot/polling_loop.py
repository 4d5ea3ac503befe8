"""A background loop of `serve` that works off what is due: at once when woken (a use case
wrote something for it), and every few seconds for retries and other replicas' work.

Stopping drains: the round in flight finishes (cancelled after the grace), then the loop's
own `after_stop` runs (hand back claims, close sessions). The outbox and the webhooks each run
one (bot.delivery_loop, bot.webhook_loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0


class PollingLoop:
    """Subclasses say what one round does (`round`: True while more may be waiting) and what
    to do once stopped (`after_stop`)."""

    name = "polling-loop"  # the task's name, and the log's

    def __init__(self, poll_seconds: float = POLL_SECONDS) -> None:
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def round(self) -> bool:
        raise NotImplementedError

    async def after_stop(self) -> None:
        """Run once the loop has stopped (or was never started)."""

    def on_start(self) -> None:
        """Run as the loop starts."""

    def on_stopping(self) -> None:
        """Run as stopping begins, before the round in flight is waited for."""

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self.on_start()
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self, grace: float) -> None:
        """Let the round in flight finish (cancelled after `grace` seconds), then
        `after_stop`."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            self.on_stopping()
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), grace)
            except TimeoutError:
                log.warning("%s still busy after %gs at shutdown; cancelled", self.name, grace)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.after_stop()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                while not self._stopping and await self.round():
                    pass  # a full batch may mean more is waiting
            except Exception:
                log.exception("%s failed; trying again shortly", self.name)
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

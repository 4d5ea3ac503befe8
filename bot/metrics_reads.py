"""What /metrics reads from the database: case counts by status and the outbox and webhook
backlogs, read at most every `Metrics.read_every` seconds.

Counting cases scans the cases table, so a scrape every few seconds would cost in proportion
to the number of cases; between reads a scrape only renders the registry. The ages of the
oldest waiting messages are taken from the cached queue times against the clock at each
scrape, so they keep growing between reads.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

from bot.metrics import Metrics
from handlers.context import Services
from storage import cases, outbox, webhooks
from storage.records import CaseStatus


@dataclass(frozen=True, slots=True)
class _Read:
    at: float  # time.monotonic() of the read
    by_status: dict[str, int]
    outbox_pending: int
    outbox_oldest: datetime | None
    webhook_oldest: datetime | None


class ScrapeReads:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._last: _Read | None = None
        self._lock = asyncio.Lock()  # scrapes at once share one read

    async def update(self, svc: Services) -> None:
        """Set the database figures on the registry, reading them again if they are stale."""
        read = await self._fresh(svc)
        m = self.metrics
        for status in CaseStatus:
            m.cases.labels(status.value).set(read.by_status.get(status.value, 0))
        m.outbox_pending.set(read.outbox_pending)
        now = svc.clock.now()
        m.outbox_oldest_pending.set(_age(now, read.outbox_oldest))
        m.webhook_oldest_pending.set(_age(now, read.webhook_oldest))
        m.show_build(svc.policy.version)

    async def _fresh(self, svc: Services) -> _Read:
        async with self._lock:
            last = self._last
            if last is not None and time.monotonic() - last.at < self.metrics.read_every:
                return last
            async with svc.db.reading() as conn:
                read = _Read(
                    time.monotonic(),
                    await cases.count_by_status(conn),
                    await outbox.pending_count(conn),
                    await outbox.oldest_pending(conn),
                    await webhooks.oldest_undelivered(conn),
                )
            self._last = read
            return read


def _age(now: datetime, since: datetime | None) -> float:
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0

"""The periodic jobs on a timer: APScheduler 3 (AsyncIOScheduler, in-memory job store).

The overdue sweep (with the daily digest before it and the remediation items' reminders
after it, `bot.side_sweeps`), and once an hour the audit checkpoint job, which sends the
chain's head to the auditors when none went out in the last 24 hours
(`handlers.checkpoints`: the sending is an audit event, so replicas send one a day between
them).

Every `APPROVALS_SWEEP_SECONDS` (and once at start) it runs `handlers.sweep.sweep`, again
at once while a full batch came back (a backlog), then calls `after` if anything was done so
the outbox deliverer sends the reminders now. The timer is wall time; what is due is decided
by the services' clock, so tests move that clock and run a sweep instead of waiting.
Several replicas may run it against one database: the sweep's claims keep them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.memory import MemoryJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from bot.metrics import Metrics
from bot.side_sweeps import digests_first, side_sweeps
from handlers.checkpoints import DAILY, send_checkpoint
from handlers.context import Actor, Services
from handlers.sweep import DEFAULT_LEASE, DEFAULT_LIMIT, Outcome, SweepReport, due_left, sweep
from storage import claims

log = logging.getLogger(__name__)

JOB_ID = "overdue-sweep"
CHECKPOINT_JOB_ID = "audit-checkpoint"
CHECKPOINT_EVERY = timedelta(hours=1)  # how often to look; one is sent a day
STOP_GRACE_SECONDS = 15.0  # a sweep in progress finishes its batch; then it is cancelled
CANCEL_GRACE_SECONDS = 2.0


def sweeper_name() -> str:
    """A name for this process's sweeper, unique across replicas and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SweepScheduler:
    def __init__(
        self,
        services: Services,
        seconds: float,
        *,
        after: Callable[[], object] | None = None,
        owner: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        batch: int = DEFAULT_LIMIT,
        checkpoints: bool = True,
        metrics: Metrics | None = None,
    ) -> None:
        self.services = services
        self.seconds = seconds
        self.after = after  # called (awaited if it returns an awaitable) after work was done
        self.owner = owner or sweeper_name()
        self.lease = lease
        self.batch = batch
        self.checkpoints = checkpoints  # the daily audit checkpoint job (serve; not the console)
        self.metrics = metrics
        self._scheduler: AsyncIOScheduler | None = None
        self._running = asyncio.Lock()
        self._jobs: set[asyncio.Task[object]] = set()  # runs in progress, for stop() to await
        self._stopping = False

    def start(self) -> None:
        """Start the timer on the running event loop; the first sweep runs at once."""
        if self._scheduler is not None:
            return
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per run otherwise
        scheduler = AsyncIOScheduler(jobstores={"default": MemoryJobStore()}, timezone=UTC)
        scheduler.add_job(
            self.run_once,
            "interval",
            seconds=self.seconds,
            id=JOB_ID,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(self.seconds)),
        )
        if self.checkpoints:
            self._add_checkpoint_job(scheduler)
        scheduler.start()
        self._scheduler = scheduler
        log.info("overdue sweep every %ss as %s", self.seconds, self.owner)

    def _add_checkpoint_job(self, scheduler: AsyncIOScheduler) -> None:
        scheduler.add_job(
            self.checkpoint_once,
            "interval",
            seconds=CHECKPOINT_EVERY.total_seconds(),
            id=CHECKPOINT_JOB_ID,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
        )

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop the timer; a sweep in progress finishes the batch it claimed (cancelled after
        `grace` seconds), then whatever this sweeper still holds is handed back."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        scheduler.pause()
        self._stopping = True  # a backlog is left for the next process
        if jobs := set(self._jobs):
            _, late = await asyncio.wait(jobs, timeout=grace)
            for job in late:
                log.warning("overdue sweep still busy after %gs at shutdown; cancelled", grace)
                job.cancel()
            if late:
                await asyncio.wait(late, timeout=CANCEL_GRACE_SECONDS)
        scheduler.shutdown(wait=False)  # nothing left running for it to cancel
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the next loop iteration
        await self._release()

    async def _release(self) -> None:
        owner = self.owner
        try:
            released = await self.services.db.write(lambda conn: claims.release_all(conn, owner))
        except Exception as error:  # the database is gone: the lease runs out instead
            log.warning("overdue sweep: claims not handed back at shutdown: %s", error)
            return
        if released:
            log.info("overdue sweep: %s claims handed back", released)

    @contextlib.contextmanager
    def _job(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is None:
            yield
            return
        self._jobs.add(task)
        try:
            yield
        finally:
            self._jobs.discard(task)

    async def run_once(self) -> SweepReport:
        """Sweep until no full batch is left; never raises (failures are logged)."""
        with self._job():
            async with self._running:
                return await self._sweep()

    async def _sweep(self) -> SweepReport:
        total = SweepReport()
        started = time.perf_counter()
        digested = await digests_first(self.services)  # before the reminders it covers
        try:
            while True:
                report = await sweep(self.services, self.owner, self.lease, self.batch)
                total = _add(total, report)
                if report.claimed < self.batch or self._stopping:
                    break
        except Exception:
            log.exception("overdue sweep failed; it runs again in %ss", self.seconds)
        acted = total.claimed - total.count(Outcome.SKIPPED) - total.count(Outcome.WAITED)
        if not self._stopping:  # the remediation items wait for the next process
            acted += await side_sweeps(self.services, self.owner, self.lease, self.batch)
        acted += digested
        await self._measure(time.perf_counter() - started)
        if acted > 0:
            log.info("overdue sweep: %s", _describe(total))
            await self._after()
        return total

    async def _measure(self, seconds: float) -> None:
        if self.metrics is None:
            return
        self.metrics.sweep_last_run.set(time.time())
        self.metrics.sweep_duration.set(seconds)
        try:
            self.metrics.sweep_due.set(await due_left(self.services))
        except Exception as error:  # the database is down: the sweep said so already
            log.warning("overdue sweep: could not count the steps still due: %s", error)

    async def checkpoint_once(self) -> bool:
        """Send today's audit checkpoint if nobody has; never raises. True if it sent one."""
        with self._job():
            return await self._checkpoint()

    async def _checkpoint(self) -> bool:
        try:
            sent = await send_checkpoint(
                self.services, Actor.system("scheduler"), unless_sent_within=DAILY
            )
        except Exception:
            log.exception("the audit checkpoint failed; it is tried again within the hour")
            return False
        if sent is None:
            return False
        log.info("audit checkpoint sent to the auditors: event %s", sent.seq)
        await self._after()
        return True

    async def _after(self) -> None:
        if self.after is None:
            return
        try:
            result = self.after()
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("after the overdue sweep: delivery failed")


def _add(one: SweepReport, other: SweepReport) -> SweepReport:
    outcomes = dict(one.outcomes)
    for outcome, count in other.outcomes.items():
        outcomes[outcome] = outcomes.get(outcome, 0) + count
    return SweepReport(one.claimed + other.claimed, outcomes)


def _describe(report: SweepReport) -> str:
    parts = [f"{count} {outcome.value}" for outcome, count in sorted(report.outcomes.items())]
    return f"{report.claimed} claimed: {', '.join(parts)}"


def start_sweeping(
    services: Services,
    seconds: float,
    after: Callable[[], object] | None = None,
    metrics: Metrics | None = None,
) -> SweepScheduler:
    """The sweep of `approvals serve`: started now; `await stop()` it on the way out."""
    sweeps = SweepScheduler(services, seconds, after=after, metrics=metrics)
    sweeps.start()
    return sweeps

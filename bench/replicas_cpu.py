"""CPU seconds of the processes a replicas round involves, from /proc/<pid>/stat.

The serve processes and this one are known by pid. PostgreSQL's backends come and go with the
replicas' connection pools (overflow connections close when returned), so the backends of the
benchmark's database are polled during a round (`pg_stat_activity`) and each one's last
reading counts; the server's background processes (WAL writer, checkpointer, background
writer) do the WAL work of every database on the server and are counted apart. The whole
machine's busy CPU (/proc/stat) is read too: on a shared machine, what other work took is
what the benchmark's processes could not have.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import asyncpg

TICKS = os.sysconf("SC_CLK_TCK")
POLL_SECONDS = 0.2
BACKGROUND = ("walwriter", "checkpointer", "background writer")


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every core; idle and iowait left out)."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(x) for x in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks[:8]) - idle) / TICKS  # user nice system idle iowait irq softirq steal


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a live process (all its threads); None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15)


@dataclass
class _Tally:
    """CPU used by a set of processes since the tally began (first reading, or 0 if born
    after it began)."""

    base: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)
    started: bool = False

    def read(self, pids: Iterable[int]) -> None:
        for pid in pids:
            now = cpu_seconds(pid)
            if now is None:
                continue
            if pid not in self.base:
                self.base[pid] = now if not self.started else 0.0
            self.last[pid] = now
        self.started = True

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.base[pid] for pid in self.last)


@dataclass(frozen=True, slots=True)
class RoundCpu:
    serve: tuple[float, ...]  # each serve process, in the order given
    backends: float  # PostgreSQL backends of the benchmark's database
    background: float  # the server's background processes (shared with every database)
    load: float  # this process: the load generator (and the polling)
    machine: float  # the whole machine's busy CPU meanwhile, others' work included
    wall: float  # seconds the round took

    @property
    def total(self) -> float:
        return sum(self.serve) + self.backends + self.background + self.load

    @property
    def others(self) -> float:
        """CPU seconds other work on the machine took during the round."""
        return max(0.0, self.machine - self.total)


class CpuMeter:
    """Measures one round: `async with meter.round() as result: ...`, then `result[0]`."""

    def __init__(self, admin: asyncpg.Connection, database: str, serve_pids: list[int]):
        self.admin = admin
        self.database = database
        self.serve_pids = serve_pids

    async def _pids(self) -> tuple[list[int], list[int]]:
        rows = await self.admin.fetch(
            "SELECT pid, datname, backend_type FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND (datname = $1 OR backend_type = ANY($2))",
            self.database,
            list(BACKGROUND),
        )
        backends = [r["pid"] for r in rows if r["datname"] == self.database]
        background = [r["pid"] for r in rows if r["backend_type"] in BACKGROUND]
        return backends, background

    async def _poll(self, backends: _Tally, background: _Tally) -> None:
        found = await self._pids()
        backends.read(found[0])
        background.read(found[1])

    @contextlib.asynccontextmanager
    async def round(self) -> AsyncIterator[list[RoundCpu]]:
        result: list[RoundCpu] = []
        backends, background = _Tally(), _Tally()
        serve_before = [cpu_seconds(pid) or 0.0 for pid in self.serve_pids]
        load_before = cpu_seconds(os.getpid()) or 0.0
        machine_before, started = machine_busy(), time.monotonic()
        await self._poll(backends, background)
        stop = asyncio.Event()

        async def poll() -> None:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), POLL_SECONDS)
                await self._poll(backends, background)

        poller = asyncio.create_task(poll())
        try:
            yield result
        finally:
            stop.set()
            await poller
            serve = tuple(
                (cpu_seconds(pid) or before) - before
                for pid, before in zip(self.serve_pids, serve_before, strict=True)
            )
            load = (cpu_seconds(os.getpid()) or load_before) - load_before
            machine, wall = machine_busy() - machine_before, time.monotonic() - started
            result.append(
                RoundCpu(serve, backends.seconds, background.seconds, load, machine, wall)
            )

"""What crosses from Python to SQLite, and where the time goes.

`StatementTrace` counts the SQL statements SQLite runs (a connection's trace callback;
`trace_writes` hooks it to the connection a database's write units run on), `unit_hops` the
units of work handed to storage's SQLite threads, `round_trips` the calls handed to
aiosqlite's worker thread, and `profile_handler` profiles handler filings with pyinstrument if
it can be imported, else cProfile.
"""

from __future__ import annotations

import cProfile
import importlib
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bench._common import cprofile_lines, pyinstrument_lines
from bench.intake_workload import HandlerRun
from handlers.commands import FileException
from storage.database import Database


class StatementTrace:
    """Counts the SQL statements SQLite runs on a connection (executemany counts each row)."""

    def __init__(self) -> None:
        self.on = False
        self.seen: Counter[str] = Counter()

    def __call__(self, statement: str) -> None:
        if self.on:
            self.seen[statement.split(None, 1)[0].upper()] += 1

    def take(self) -> Counter[str]:
        seen, self.seen = self.seen, Counter()
        return seen


async def trace_writes(db: Database, trace: StatementTrace) -> bool:
    """Hook `trace` to the connection `db`'s write units run on (on SQLite the writer thread's
    own, kept from unit to unit, so BEGIN and COMMIT show too); False if it cannot."""

    async def hook(conn: AsyncConnection) -> bool:
        driver = (await conn.get_raw_connection()).driver_connection
        if isinstance(driver, sqlite3.Connection):  # storage.writer's in-thread sqlite3
            driver.set_trace_callback(trace)
            return True
        if isinstance(driver, aiosqlite.Connection):  # a write on the caller's pooled one
            await driver.set_trace_callback(trace)
            return True
        return False

    return await db.write(hook)


@contextmanager
def unit_hops(db: Database) -> Iterator[Counter[str]]:
    """Counts the units of work `db` hands over (`write`, `read`): on SQLite each is one hop to
    a thread of storage.writer however many statements it runs."""
    seen: Counter[str] = Counter()
    originals = {name: getattr(db, name) for name in ("write", "read")}

    def counting(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        async def counted(*args: Any, **kwargs: Any) -> Any:
            seen[name] += 1
            return await method(*args, **kwargs)

        return counted

    for name, method in originals.items():
        setattr(db, name, counting(name, method))
    try:
        yield seen
    finally:
        for name in originals:
            delattr(db, name)  # the class's methods again


def can_count_trips() -> bool:
    """Whether `round_trips` can count (an empty count then means none)."""
    return hasattr(aiosqlite.Connection, "_execute")


@contextmanager
def round_trips() -> Iterator[Counter[str]]:
    """Counts calls handed to aiosqlite's worker thread, by what they call (cursor, execute...).

    Every aiosqlite call goes through the private `Connection._execute`; if a later aiosqlite
    renames it, the counter simply stays empty.
    """
    seen: Counter[str] = Counter()
    original = getattr(aiosqlite.Connection, "_execute", None)
    if original is None:
        yield seen
        return

    async def counting(
        self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        seen[getattr(fn, "__name__", "?")] += 1
        return await original(self, fn, *args, **kwargs)

    setattr(aiosqlite.Connection, "_execute", counting)  # noqa: B010
    try:
        yield seen
    finally:
        setattr(aiosqlite.Connection, "_execute", original)  # noqa: B010


def describe(counts: Counter[str], measured: bool = False) -> str:
    """`counts` as "total (n what, ...)"; empty: "0" if it was `measured`, else "n/a"."""
    if not counts:
        return "0" if measured else "n/a"
    parts = ", ".join(f"{n} {what}" for what, n in sorted(counts.items(), key=lambda x: -x[1]))
    return f"{counts.total()} ({parts})"


async def profile_handler(
    path: Path, policy_file: Path, commands: Sequence[FileException]
) -> list[str]:
    """Profile the handler over `commands` on a fresh database (after 20 untimed filings).

    pyinstrument (sampling, async-aware) when importable, else cProfile from the stdlib.
    """
    run = await HandlerRun.open(path, policy_file, commands)
    try:
        for i in range(min(20, len(commands))):
            await run.file(i)
        try:
            pyinstrument = importlib.import_module("pyinstrument")
        except ImportError:
            profiler = cProfile.Profile()
            for i in range(20, len(commands)):
                profiler.enable()
                await run.file(i)
                profiler.disable()
            return cprofile_lines(profiler)
        sampler = pyinstrument.Profiler(interval=0.0005, async_mode="enabled")
        sampler.start()
        for i in range(20, len(commands)):
            await run.file(i)
        session = sampler.stop()
        return pyinstrument_lines(session.root_frame())
    finally:
        await run.close()

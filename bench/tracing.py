"""What crosses from Python to SQLite, and where the time goes.

`StatementTrace` counts the SQL statements SQLite runs (a connection's trace callback),
`round_trips` the calls handed to aiosqlite's worker thread, and `profile_handler` profiles
handler filings with pyinstrument if it can be imported, else cProfile.
"""

from __future__ import annotations

import cProfile
import importlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bench._common import cprofile_lines, pyinstrument_lines
from bench.intake_workload import HandlerRun
from handlers.commands import FileException


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


def describe(counts: Counter[str]) -> str:
    if not counts:
        return "n/a"
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

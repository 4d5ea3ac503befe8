"""What every benchmark prints: the machine, the exact command, percentiles, a profile summary."""

from __future__ import annotations

import cProfile
import math
import os
import platform
import pstats
import shlex
import sqlite3
import sys
from collections import defaultdict
from importlib.metadata import PackageNotFoundError, version
from typing import Any, cast


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def command(module: str) -> str:
    """The command line that ran this benchmark, as one would type it from the repo root."""
    return shlex.join(["python", "-m", module, *sys.argv[1:]])


def machine_lines() -> list[str]:
    return [
        f"machine:  {os.cpu_count()} CPUs, {platform.platform()}",
        f"software: Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"aiosqlite {_version('aiosqlite')}, SQLAlchemy {_version('SQLAlchemy')}",
    ]


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (fraction 0.5 = median, 0.99 = p99)."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(len(sorted_values) * fraction))
    return sorted_values[rank - 1]


# Where a function's own time is charged (first needle found in its file or built-in name).
_AREAS: tuple[tuple[str, str], ...] = (
    ("[await]", "event loop idle: waiting for the aiosqlite thread (SQL, fsync, wake-up)"),
    ("epoll", "event loop idle: waiting for the aiosqlite thread (SQL, fsync, wake-up)"),
    ("simplequeue", "handing calls to the aiosqlite thread (queue put, thread wake-up)"),
    ("socket", "asyncio self-pipe wake-ups from the aiosqlite thread"),
    ("greenlet", "greenlet switches (SQLAlchemy's async bridge)"),
    ("/sqlalchemy/", "SQLAlchemy Core (statements, compile cache, execution, results)"),
    ("/aiosqlite/", "aiosqlite (main-thread side)"),
    ("/asyncio/", "asyncio event loop machinery"),
    ("/selectors", "asyncio event loop machinery"),
    ("/pydantic", "pydantic"),
    ("serializer", "pydantic"),
    ("program", "CEL condition evaluation (Program.execute)"),
    ("/policy/", "policy/ (evaluation, routing)"),
    ("/storage/", "storage/ (repositories, audit chain)"),
    ("/handlers/", "handlers/"),
    ("/json/", "json"),
    ("/bench/", "bench/ (driver loop)"),
)

Key = tuple[str, int, str]  # (file, line, function); built-ins have file "~"


def _area(key: Key) -> str:
    filename, _line, name = key
    where = (name if filename == "~" else filename).lower()
    for needle, area in _AREAS:
        if needle in where:
            return area
    return "other built-ins" if filename == "~" else "other Python"


def _render(header: str, own: dict[Key, float], top: int) -> list[str]:
    total = sum(own.values()) or 1.0
    by_area: dict[str, float] = defaultdict(float)
    for key, seconds in own.items():
        by_area[_area(key)] += seconds
    lines = [header, "  own time by area:"]
    for area, seconds in sorted(by_area.items(), key=lambda item: -item[1]):
        if seconds / total >= 0.005:
            lines.append(f"    {100 * seconds / total:5.1f}%  {area}")
    lines.append(f"  top {top} functions by own time:")
    for (filename, line, name), seconds in sorted(own.items(), key=lambda item: -item[1])[:top]:
        where = "" if filename == "~" else "/".join(filename.split("/")[-2:]) + f":{line} "
        lines.append(f"    {100 * seconds / total:5.1f}%  {where}{name}")
    return lines


def cprofile_lines(profiler: cProfile.Profile, top: int = 10) -> list[str]:
    """Own time per function (cProfile: deterministic, so many small calls look dearer)."""
    stats = pstats.Stats(profiler)
    table = cast(dict[Key, tuple[int, int, float, float, Any]], stats.stats)  # type: ignore[attr-defined]
    own = {key: entry[2] for key, entry in table.items()}
    header = f"profiler: cProfile, {sum(own.values()):.2f} s of main-thread time"
    return _render(header, own, top)


def pyinstrument_lines(root: Any, top: int = 10) -> list[str]:
    """Own time per function from a pyinstrument (sampling, async-aware) session's root frame."""
    own: dict[Key, float] = defaultdict(float)
    stack = [root]
    while stack:
        frame = stack.pop()
        children = list(frame.children)
        stack.extend(children)
        seconds = float(frame.time) - sum(float(child.time) for child in children)
        if seconds <= 0:
            continue
        identifier = str(frame.identifier)
        if identifier.startswith("[await]"):
            own[("~", 0, "[await]")] += seconds
            continue
        if identifier.startswith("[") and frame.parent is not None:
            frame = frame.parent  # "[self]" and other synthetic leaves: charge their function
        path = str(frame.file_path or "~")
        filename = "~" if path.startswith("<") else path
        own[(filename, int(frame.line_no or 0), str(frame.function))] += seconds
    header = f"profiler: pyinstrument, {float(root.time):.2f} s of main-thread wall time"
    return _render(header, own, top)

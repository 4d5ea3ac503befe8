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


# Where a function's own time is charged, by the file it lives in (first match wins).
_AREAS: tuple[tuple[str, str], ...] = (
    ("select.epoll", "event loop idle: waiting for the aiosqlite thread (SQL, fsync)"),
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/aiosqlite/", "aiosqlite (main-thread side)"),
    ("/asyncio/", "asyncio machinery"),
    ("/pydantic", "pydantic"),
    ("/cel/", "CEL (common-expression-language)"),
    ("/policy/", "policy/ (evaluation, routing)"),
    ("/storage/", "storage/ (repositories, audit chain)"),
    ("/handlers/", "handlers/"),
    ("/json/", "json"),
    ("/bench/", "bench/ (driver loop)"),
)

_Key = tuple[str, int, str]


def _area(key: _Key) -> str:
    filename, _line, name = key
    where = filename if filename != "~" else name
    for needle, area in _AREAS:
        if needle in where:
            return area
    if filename == "~":
        return "other built-ins"
    return "other Python"


def profile_lines(profiler: cProfile.Profile, top: int = 12) -> list[str]:
    """The hottest functions by own time, and own time summed by area, as % of the total."""
    stats = pstats.Stats(profiler)
    table = cast(dict[_Key, tuple[int, int, float, float, Any]], stats.stats)  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in table.values()) or 1.0
    lines = [f"profile: {total:.2f} s of main-thread time (cProfile, own time per function)"]
    by_area: dict[str, float] = defaultdict(float)
    for key, entry in table.items():
        by_area[_area(key)] += entry[2]
    lines.append("  by area:")
    for area, seconds in sorted(by_area.items(), key=lambda item: -item[1]):
        lines.append(f"    {100 * seconds / total:5.1f}%  {area}")
    lines.append(f"  top {top} functions:")
    hottest = sorted(table.items(), key=lambda item: -item[1][2])[:top]
    for (filename, line, name), (_cc, calls, own, cumulative, _callers) in hottest:
        short = filename if filename == "~" else "/".join(filename.split("/")[-2:])
        lines.append(
            f"    {100 * own / total:5.1f}% own {100 * cumulative / total:5.1f}% cum "
            f"{calls:>8} calls  {short}:{line} {name}"
        )
    return lines

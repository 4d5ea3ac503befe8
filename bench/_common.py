"""What every benchmark prints: the machine, the exact command, percentiles."""

from __future__ import annotations

import os
import platform
import shlex
import sqlite3
import sys
from importlib.metadata import PackageNotFoundError, version


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
    rank = max(1, -(-len(sorted_values) * fraction // 1))  # ceil(n * fraction), at least 1
    return sorted_values[int(rank) - 1]

"""CPU accounts for bench.slack_presses' ack windows (Linux): how long the server's event-loop
thread was on a CPU, or runnable but waiting for one, and the CPU time of this process's other
threads (aiosqlite's workers, the commit watch) and of the child process that plays Slack, read
from /proc/<pid>/task/<tid>/schedstat at the start and the end of a window. The rest of a
window the loop's thread was blocked: idle in epoll, or waiting for the GIL.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path


def _schedstat(path: Path) -> tuple[int, int]:
    """(ns on a CPU, ns runnable but waiting for one) of a thread, from /proc (Linux)."""
    try:
        run, wait, _ = path.read_text().split()
    except (OSError, ValueError):
        return 0, 0  # the thread ended meanwhile, or no schedstats
    return int(run), int(wait)


@dataclass
class CpuTimes:
    wall: float = 0.0
    main_run: float = 0.0  # the event loop's thread on a CPU
    main_wait: float = 0.0  # the event loop's thread runnable, waiting for a CPU
    others_run: float = 0.0  # this process's other threads (aiosqlite's, the commit watch)
    child_run: float = 0.0  # the process that plays Slack

    def add(self, other: CpuTimes) -> None:
        self.wall += other.wall
        self.main_run += other.main_run
        self.main_wait += other.main_wait
        self.others_run += other.others_run
        self.child_run += other.child_run


class CpuAccount:
    """CPU time of the loop's thread, the other threads and the child over a window, from
    /proc/<pid>/task/<tid>/schedstat (threads started in the window count from zero; threads
    that end in it are lost)."""

    def __init__(self, child_pid: int) -> None:
        self.tasks = Path(f"/proc/{os.getpid()}/task")
        self.main = str(threading.main_thread().native_id)
        self.child = Path(f"/proc/{child_pid}/task")
        self.available = (self.tasks / self.main / "schedstat").exists()

    def _read(self) -> tuple[float, tuple[int, int], dict[str, int], dict[str, int]]:
        main = _schedstat(self.tasks / self.main / "schedstat")
        others = {
            tid.name: _schedstat(tid / "schedstat")[0]
            for tid in self.tasks.iterdir()
            if tid.name != self.main
        }
        child = {tid.name: _schedstat(tid / "schedstat")[0] for tid in self.child.iterdir()}
        return time.perf_counter(), main, others, child

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> CpuTimes:
        end = self._read()
        (t0, main0, others0, child0), (t1, main1, others1, child1) = self._start, end
        return CpuTimes(
            wall=t1 - t0,
            main_run=(main1[0] - main0[0]) / 1e9,
            main_wait=(main1[1] - main0[1]) / 1e9,
            others_run=sum(ns - others0.get(tid, 0) for tid, ns in others1.items()) / 1e9,
            child_run=sum(ns - child0.get(tid, 0) for tid, ns in child1.items()) / 1e9,
        )

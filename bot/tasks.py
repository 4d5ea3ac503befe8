"""Background work that is kept, logged and drained: never fire-and-forget.

Chat platforms want an answer within seconds, so adapters acknowledge first and do the work
in a task started here. Every task is referenced until it ends, its failure is logged with a
traceback, and shutdown waits for the ones still running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

CANCEL_GRACE_SECONDS = 2.0  # how long cancelled tasks get to unwind before shutdown goes on


class BackgroundTasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background task %s failed", task.get_name(), exc_info=error)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, grace: float = 10.0) -> None:
        """Wait for running tasks (for a clean shutdown), cancelling any still running after."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            _, stuck = await asyncio.wait(pending, timeout=CANCEL_GRACE_SECONDS)
            for task in stuck:
                log.error("background task %s ignored cancellation at shutdown", task.get_name())

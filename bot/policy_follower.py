"""Keeps this process on the active policy version, polling the database every few seconds,
so a version activated by another replica (or from chat) is in force here without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from handlers.context import Services
from handlers.policy_versions import follow

log = logging.getLogger(__name__)

FOLLOW_SECONDS = 5.0  # a newly active version is in force everywhere within this (and a poll)


class PolicyFollower:
    def __init__(self, services: Services, seconds: float = FOLLOW_SECONDS) -> None:
        self.services = services
        self.seconds = seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="policy")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.seconds)
            try:
                await follow(self.services)
            except Exception as error:  # a database hiccup: try again at the next poll
                log.warning("policy: could not read the active version (%s); trying again", error)

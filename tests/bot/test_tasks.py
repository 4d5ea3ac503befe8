"""Background work is kept, its failures logged, and shutdown never hangs on it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest

from bot import tasks as tasks_module
from bot.tasks import BackgroundTasks


async def test_a_failing_task_is_logged_and_forgotten(caplog: pytest.LogCaptureFixture) -> None:
    tasks = BackgroundTasks()

    async def broken() -> None:
        raise RuntimeError("boom")

    tasks.spawn(broken(), "broken-work")
    await tasks.drain(grace=1)

    assert len(tasks) == 0
    assert "background task broken-work failed" in caplog.text
    assert "RuntimeError: boom" in caplog.text


async def test_drain_waits_for_work_then_cancels_what_is_left() -> None:
    tasks = BackgroundTasks()
    finished: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.01)
        finished.append("quick")

    slow = tasks.spawn(asyncio.sleep(60), "slow")
    tasks.spawn(quick(), "quick")
    await tasks.drain(grace=0.2)

    assert finished == ["quick"]
    assert slow.cancelled()


async def test_a_task_ignoring_cancellation_cannot_hang_shutdown(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(tasks_module, "CANCEL_GRACE_SECONDS", 0.2)
    caplog.set_level(logging.ERROR)
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(60)

    tasks = BackgroundTasks()
    task = tasks.spawn(stubborn(), "stubborn")
    started = time.monotonic()
    await tasks.drain(grace=0.1)

    assert time.monotonic() - started < 2
    assert "stubborn ignored cancellation" in caplog.text
    release.set()
    task.cancel()
    await asyncio.wait({task}, timeout=1)

"""The overdue sweep on APScheduler's timer: batches, the `after` hook, a clean stop."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from bot.scheduler import SweepScheduler
from handlers.clock import ManualClock
from handlers.commands import FileException
from handlers.context import Actor, Services
from handlers.filing import file_exception
from handlers.queries import case_details
from handlers.sweep import Outcome
from policy.loader import load_policy
from policy.request import ExceptionRequest
from storage.database import Database

OVERDUE = Path(__file__).parent.parent / "data" / "overdue.yaml"


def late(db: Database, clock: ManualClock) -> Services:
    return Services(db=db, policy=load_policy(OVERDUE), clock=clock)


async def _file(svc: Services, count: int) -> list[int]:
    ids = []
    for i in range(count):
        request = ExceptionRequest.model_validate(
            {"code": "OFF_CONTRACT", "title": f"Case {i}", "requester": "rita"}
        )
        result = await file_exception(svc, Actor("rita", "console"), FileException(request))
        ids.append(result.case.id)
    return ids


async def test_one_run_sweeps_a_backlog_in_batches_then_calls_after(
    db: Database, clock: ManualClock
) -> None:
    svc = late(db, clock)
    cases = await _file(svc, 5)
    calls: list[str] = []
    scheduler = SweepScheduler(svc, 30, after=lambda: calls.append("after"), batch=2)

    assert (await scheduler.run_once()).claimed == 0
    assert calls == []  # nothing was done, nothing to deliver

    clock.advance(timedelta(hours=1))
    report = await scheduler.run_once()

    assert report.claimed == 5
    assert report.count(Outcome.REMINDED) == 5
    assert calls == ["after"]
    for case_id in cases:
        assert (await case_details(svc, case_id)).steps[0].reminders_sent == 1


async def test_the_timer_sweeps_in_the_background_and_stops_cleanly(
    db: Database, clock: ManualClock
) -> None:
    svc = late(db, clock)
    (case_id,) = await _file(svc, 1)
    clock.advance(timedelta(hours=1))
    swept = asyncio.Event()

    async def after() -> None:
        swept.set()

    scheduler = SweepScheduler(svc, 0.05, after=after, owner="test-sweeper")
    scheduler.start()
    scheduler.start()  # a second start is harmless
    try:
        await asyncio.wait_for(swept.wait(), timeout=10)
        clock.advance(timedelta(hours=1))  # the next tick of the timer sends the next one
        for _ in range(200):
            if (await case_details(svc, case_id)).steps[0].reminders_sent == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await scheduler.stop()
        await scheduler.stop()  # and so is a second stop
    assert (await case_details(svc, case_id)).steps[0].reminders_sent == 2

    clock.advance(timedelta(hours=1))
    await asyncio.sleep(0.2)  # stopped: no more sweeps
    assert (await case_details(svc, case_id)).steps[0].escalated_at is None


async def test_a_failing_sweep_is_logged_not_raised(
    db: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    svc = late(db, clock)
    await db.dispose()
    broken = Services(
        db=Database.from_url("sqlite+aiosqlite:////nonexistent/dir/x.db"),
        policy=svc.policy,
        clock=clock,
    )
    try:
        report = await SweepScheduler(broken, 30).run_once()
    finally:
        await broken.db.dispose()
    assert report.claimed == 0
    assert "overdue sweep failed" in caplog.text

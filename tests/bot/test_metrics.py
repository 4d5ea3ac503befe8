"""What /metrics says: lifecycle counters from committed audit events, the sweep's figures,
the build info, the cached database reads, and /readyz without a chat platform.

Deliveries and the platforms' API calls are in tests/bot/test_metrics_delivery.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlalchemy import event

from bot.metrics import Metrics
from bot.scheduler import SweepScheduler
from bot.server import NO_CHAT, create_app
from handlers.clock import ManualClock
from handlers.commands import Decide
from handlers.context import Actor, Services
from handlers.deciding import decide
from policy.effects import AuditEvent
from policy.lifecycle import AuditKind
from policy.loader import load_policy
from storage import audit, overdue
from storage.database import Database
from storage.records import Action
from tests.handlers.conftest import file

OVERDUE = Path(__file__).parent.parent / "data" / "overdue.yaml"


def late(db: Database, clock: ManualClock) -> Services:
    return Services(db=db, policy=load_policy(OVERDUE), clock=clock)


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def served(services: Services) -> AsyncIterator[tuple[ClientSession, Metrics]]:
    metrics = Metrics.create(read_every=3600.0)
    server = TestServer(create_app(services, api_token=None, metrics_=metrics), port=0)
    await server.start_server()
    try:
        async with ClientSession(str(server.make_url("/"))) as http:
            yield http, metrics
    finally:
        await server.close()


async def scrape(http: ClientSession) -> str:
    async with http.get("/metrics") as response:
        assert response.status == 200
        return await response.text()


async def test_decisions_reminders_escalations_reroutes_and_timeouts_are_counted(
    db: Database, clock: ManualClock
) -> None:
    svc = late(db, clock)
    metrics = Metrics.create()
    create_app(svc, api_token=None, metrics_=metrics)  # wires the commit listener
    sweeper = SweepScheduler(svc, 30, metrics=metrics)

    decided = (await file(svc)).case
    await decide(svc, Actor("lee", "console"), Decide(decided.id, Action.APPROVE))
    assert value(metrics, "approvals_decisions_total", decision="approved") == 1
    assert value(metrics, "approvals_decisions_total", decision="rejected") == 0

    await file(svc, title="Monitors")  # leads: reminded at 1h, 2h, escalated 3h, rerouted 4h
    await file(svc, title="Desks", details={"route": "reject"})  # times out at 2h
    start = clock.now()
    for hours in (1, 2, 3, 4):
        clock.set(start + timedelta(hours=hours))
        await sweeper.run_once()
    assert value(metrics, "approvals_reminders_total", of="step") == 2
    assert value(metrics, "approvals_escalations_total", of="step") == 1
    assert value(metrics, "approvals_reroutes_total") == 1
    assert value(metrics, "approvals_timeouts_total") == 1
    assert value(metrics, "approvals_decisions_total", decision="approved") == 1


async def test_a_change_that_rolled_back_counts_nothing(services: Services) -> None:
    metrics = Metrics.create()
    create_app(services, api_token=None, metrics_=metrics)
    reminded = AuditEvent(actor="system:scheduler", action=AuditKind.STEP_REMINDED)

    async def fails_after_appending() -> None:
        async with services.db.transaction() as conn:
            await audit.append(conn, [reminded], services.clock.now())
            raise RuntimeError("the use case failed after appending")

    with pytest.raises(RuntimeError):
        await fails_after_appending()
    assert value(metrics, "approvals_reminders_total", of="step") == 0
    async with services.db.transaction() as conn:
        await audit.append(conn, [reminded], services.clock.now())
    assert value(metrics, "approvals_reminders_total", of="step") == 1


async def test_the_sweep_reports_its_last_run_duration_and_the_steps_still_due(
    db: Database, clock: ManualClock
) -> None:
    svc = late(db, clock)
    metrics = Metrics.create()
    sweeper = SweepScheduler(svc, 30, metrics=metrics, owner="here")
    assert value(metrics, "approvals_sweep_last_run_timestamp_seconds") == 0
    await file(svc, title="Monitors")
    await file(svc, title="Desks")
    clock.advance(timedelta(hours=1))
    async with db.transaction() as conn:  # another replica holds one due step
        await overdue.claim_due_steps(conn, clock.now(), "there", timedelta(minutes=2), 1)

    await sweeper.run_once()

    assert value(metrics, "approvals_sweep_last_run_timestamp_seconds") > 0
    assert value(metrics, "approvals_sweep_duration_seconds") > 0
    assert value(metrics, "approvals_sweep_due_steps") == 1  # the other replica's
    clock.advance(timedelta(minutes=3))  # its lease ran out: taken over
    await sweeper.run_once()
    assert value(metrics, "approvals_sweep_due_steps") == 0


async def test_build_info_names_the_version_and_the_policy_in_force(
    services: Services, served: tuple[ClientSession, Metrics]
) -> None:
    http, _ = served
    before = services.policy.version
    text = await scrape(http)
    assert f'policy_version="{before}"' in text
    assert 'approvals_build_info{policy_version="' in text
    services.policy = load_policy(OVERDUE)  # as PolicyFollower does when another is active
    text = await scrape(http)
    assert f'policy_version="{services.policy.version}"' in text
    assert f'policy_version="{before}"' not in text


async def test_no_created_series_and_the_process_metrics_are_there(
    served: tuple[ClientSession, Metrics],
) -> None:
    http, _ = served
    text = await scrape(http)
    assert "_created" not in text
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "python_info"):
        assert name in text


async def test_a_second_scrape_within_the_interval_reads_nothing_from_the_database(
    services: Services, served: tuple[ClientSession, Metrics]
) -> None:
    http, _ = served
    assert 'approvals_cases{status="pending"} 0.0' in await scrape(http)
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        await file(services)
        filed = len(statements)
        text = await scrape(http)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements[filed:] == []
    assert 'approvals_cases{status="pending"} 0.0' in text  # until the next read


async def test_a_scrape_after_the_interval_reads_again(services: Services) -> None:
    metrics = Metrics.create(read_every=0.0)
    server = TestServer(create_app(services, api_token=None, metrics_=metrics), port=0)
    await server.start_server()
    try:
        async with ClientSession(str(server.make_url("/"))) as http:
            await scrape(http)
            await file(services)
            assert "approvals_outbox_oldest_pending_seconds 0.0" in await scrape(http)
            assert isinstance(services.clock, ManualClock)
            services.clock.advance(timedelta(seconds=90))  # no platform: the messages wait
            text = await scrape(http)
    finally:
        await server.close()
    assert 'approvals_cases{status="pending"} 1.0' in text
    assert "approvals_outbox_oldest_pending_seconds 90.0" in text


async def test_readiness_without_a_chat_platform_says_where_messages_wait(
    served: tuple[ClientSession, Metrics],
) -> None:
    http, _ = served
    async with http.get("/readyz") as response:
        assert response.status == 200
        assert (await response.json())["chat"] == NO_CHAT

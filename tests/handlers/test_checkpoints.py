"""The audit checkpoint reaches the auditors: on demand, and once a day from the scheduler,
however many replicas run the job (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from bot.scheduler import SweepScheduler
from handlers.checkpoints import DAILY, send_checkpoint
from handlers.clock import ManualClock
from handlers.context import Actor, Services
from storage import audit
from storage.audit_checkpoint import Checkpoint, verify_checkpoint
from tests.handlers.conftest import file, outbox_rows


async def test_the_checkpoint_goes_to_every_auditor_and_proves_the_head(
    services: Services,
) -> None:
    await file(services)
    sent = await send_checkpoint(services, Actor.system("test"))

    assert sent is not None
    assert sent.seq == 3  # filed, evaluated, opened
    notes = [(who, text) for kind, who, text in await outbox_rows(services.db) if kind == "notify"]
    [(who, text)] = [n for n in notes if n[1] and "Audit checkpoint" in n[1]]
    assert who == "aud"  # the only auditor of the test policy
    assert text is not None
    kept = Checkpoint.parse(text.splitlines()[-1])
    assert kept == sent
    assert json.loads(text.splitlines()[-1]) == {"seq": 3, "hash": sent.hash, "at": sent.at}
    async with services.db.reading() as conn:
        assert await verify_checkpoint(conn, kept) is None
        assert (await audit.verify(conn)).ok  # the sending is itself an event of the chain
        events = await audit.events_for_case(conn, "")
    assert events == []  # not tied to a case


async def test_the_daily_job_sends_one_a_day_across_replicas(
    services: Services, clock: ManualClock
) -> None:
    replicas = [SweepScheduler(services, 30, owner=f"replica-{n}") for n in (1, 2)]
    assert [await r.checkpoint_once() for r in replicas] == [True, False]
    clock.advance(DAILY - timedelta(minutes=1))
    assert [await r.checkpoint_once() for r in replicas] == [False, False]
    clock.advance(timedelta(minutes=2))
    assert [await r.checkpoint_once() for r in replicas] == [True, False]


async def test_replicas_sending_at_the_same_moment_send_one(services: Services) -> None:
    """The daily job fires on every replica at once: their transactions overlap, and the chain
    lock taken before the "sent recently" check lets only the first one send."""
    system = Actor.system("test")
    sent = await asyncio.gather(
        *(send_checkpoint(services, system, unless_sent_within=DAILY) for _ in range(4))
    )
    assert sum(result is not None for result in sent) == 1
    notes = [text for kind, _, text in await outbox_rows(services.db) if kind == "notify"]
    assert sum(1 for text in notes if text and "Audit checkpoint" in text) == 1

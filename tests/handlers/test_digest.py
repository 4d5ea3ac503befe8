"""The daily digest through the handlers, on SQLite and PostgreSQL: once per approver per
business day after its time (not on a weekend or a holiday), oldest first with the owners'
remediation items, the step reminder held back on a digest day unless the step falls due,
`approvals digest --now` (and `--force`), the scheduler sending it before the reminders, and
a digest's button showing the card."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.digest_command import digest_command
from bot.scheduler import SweepScheduler
from handlers.clock import ManualClock
from handlers.context import Services
from handlers.digest import open_card, send_digests
from handlers.errors import NotFound
from handlers.sweep import sweep
from policy.digest import DigestLine
from policy.loader import load_policy
from policy.model import Policy
from storage.database import Database
from storage.tables import audit_events, outbox
from tests.handlers.conftest import file, outbox_rows, person

POLICY = Path(__file__).parent.parent / "data" / "remediation.yaml"


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="session")
def digest_policy() -> Policy:
    return load_policy(POLICY)


@pytest.fixture
def svc(db: Database, digest_policy: Policy, clock: ManualClock) -> Services:
    clock.set(_at(2, 8))  # Monday, before the 09:00 digest
    return Services(db=db, policy=digest_policy, clock=clock)


async def _digests(svc: Services) -> list[tuple[str, list[DigestLine]]]:
    async with svc.db.reading() as conn:
        rows = await conn.execute(
            select(outbox.c.recipient, outbox.c.payload)
            .where(outbox.c.kind == "digest")
            .order_by(outbox.c.id)
        )
        return [
            (r.recipient, [line for raw in r.payload["digest"] if (line := DigestLine.read(raw))])
            for r in rows
        ]


async def test_once_per_approver_per_business_day(svc: Services, clock: ManualClock) -> None:
    case = (await file(svc)).case
    clock.set(_at(2, 8, 30))
    assert await send_digests(svc) == 0  # before its time
    clock.set(_at(2, 9, 5))
    assert await send_digests(svc) == 2
    sent = await _digests(svc)
    assert sorted(who for who, _ in sent) == ["dana", "lee"]
    line = sent[0][1][0]
    assert (line.ref, line.kind, line.target) == (case.ref, "case", case.id)
    assert line.due_at == _at(3, 18)  # 20 business hours
    clock.set(_at(2, 17))
    assert await send_digests(svc) == 0  # once a day
    clock.set(_at(3, 9, 1))
    assert await send_digests(svc) == 2  # Tuesday
    for holiday_or_weekend in (_at(4, 10), _at(7, 10), _at(8, 10)):
        clock.set(holiday_or_weekend)
        assert await send_digests(svc) == 0
    assert len(await _digests(svc)) == 4


async def test_oldest_first_with_the_owner_s_items(svc: Services, clock: ManualClock) -> None:
    await file(svc)
    for minute in (10, 20, 30):
        clock.set(_at(2, 8, minute))
        await file(svc, code="PRICE_MISMATCH", title=f"Invoice {minute}")
    clock.set(_at(2, 9, 5))
    await send_digests(svc)
    digests = dict(await _digests(svc))
    assert [line.ref for line in digests["lee"]] == [
        "EXC-000001",
        "EXC-000002",
        "EXC-000003",
        "EXC-000004",
        "REM-000001",
    ]
    assert [line.ref for line in digests["dana"]] == [
        "EXC-000001",
        "EXC-000002",
        "EXC-000003",
        "EXC-000004",
    ]
    assert "rita" not in digests  # nothing waits for the requester


async def test_the_reminder_waits_on_a_digest_day_unless_due(
    svc: Services, clock: ManualClock
) -> None:
    await file(svc)  # Monday 08:00: reminders every 4h, due Tuesday 18:00
    clock.set(_at(2, 9, 5))
    await send_digests(svc)
    for moment in (_at(2, 12), _at(2, 16)):
        clock.set(moment)
        assert (await sweep(svc, "one")).claimed == 1
    reminders = [r for r in await outbox_rows(svc.db) if (r[2] or "").startswith("Reminder")]
    assert reminders == []
    async with svc.db.reading() as conn:
        notes = list(
            (
                await conn.execute(
                    select(audit_events.c.data).where(audit_events.c.action == "step.reminded")
                )
            ).scalars()
        )
    assert len(notes) == 2
    assert all("had today's digest" in note for note in notes)
    clock.set(_at(3, 9, 5))
    await send_digests(svc)
    clock.set(_at(3, 10))  # Tuesday: the step falls due today, so the reminder is news
    await sweep(svc, "one")
    reminders = [r for r in await outbox_rows(svc.db) if (r[2] or "").startswith("Reminder")]
    assert sorted(who or "" for _, who, _ in reminders) == ["dana", "lee"]


async def test_digest_now_sends_it_at_once(svc: Services, clock: ManualClock) -> None:
    await file(svc)
    clock.set(_at(7, 11))  # a Saturday: the scheduler would not
    out = io.StringIO()
    assert await digest_command(svc, force=False, out=out) == 0
    assert out.getvalue().startswith("queued 2 digests")
    await digest_command(svc, force=False, out=out)
    assert "queued 0 digests" in out.getvalue()
    await digest_command(svc, force=True, out=out)
    assert out.getvalue().splitlines()[-1].startswith("queued 2 digests")
    assert len(await _digests(svc)) == 4


def test_digest_needs_now(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["digest"])
    assert exited.value.code == 2
    assert "--now" in capsys.readouterr().err


async def test_the_scheduler_sends_it_before_the_reminders(
    svc: Services, clock: ManualClock
) -> None:
    await file(svc)
    clock.set(_at(2, 12))  # the digest's time has passed and the first reminder is due
    await SweepScheduler(svc, 60, checkpoints=False).run_once()
    assert len(await _digests(svc)) == 2
    assert not [r for r in await outbox_rows(svc.db) if (r[2] or "").startswith("Reminder")]


async def test_a_digest_button_shows_the_card(svc: Services) -> None:
    case = (await file(svc)).case
    await open_card(svc, person("lee"), "case", case.id)
    assert (await outbox_rows(svc.db))[-1] == ("post_card", "lee", None)
    with pytest.raises(NotFound):
        await open_card(svc, person("sam"), "case", case.id)
    with pytest.raises(NotFound):
        await open_card(svc, person("lee"), "remediation", 1)

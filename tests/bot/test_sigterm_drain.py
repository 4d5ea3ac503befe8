"""SIGTERM under load: a real `approvals serve` gets filings from 20 clients at once, with chat
cards (a fake Slack) and webhooks (a real receiver) in flight and the overdue sweep kept busy,
and is stopped in the middle. It exits 0 without a traceback and holds no claim; whatever got
a 2xx is stored once; the filings that failed, sent again with their keys to a new `serve`,
are stored once too; every webhook and card is then delivered exactly once and the audit
chain verifies."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select, update

from storage import claims
from storage.database import Database
from storage.migrate import upgrade
from storage.tables import card_refs, cases, outbox, steps, webhook_deliveries
from tests.bot.serve_process import running_serve
from tests.bot.webhook_receiver import Receiver, new_secret
from tests.conftest import TEST_POLICY
from tests.slack.fake_slack_api import BOT_TOKEN, FakeSlackAPI, SlackUser

TOKEN = "drain-token"
SECRET = new_secret(9)
CLIENTS = 20
PER_CLIENT = 4
STOP_AFTER = 25  # filings answered 2xx before the SIGTERM
EXIT_WITHIN = 45.0  # seconds: the drain's bounds (10 s + 12 s) and a loaded machine
SETTLE_WITHIN = 60.0
USERS = [
    SlackUser("U0RITA", "rita@acme.example"),
    SlackUser("U0LEE", "lee@acme.example"),
    SlackUser("U0DANA", "dana@acme.example"),
    SlackUser("U0MARIA", "maria@acme.example"),
]


class SlowReceiver(Receiver):
    """Takes a while to answer, so attempts are in flight when the SIGTERM comes."""

    async def _receive(self, request: web.Request) -> web.Response:
        await asyncio.sleep(0.2)
        return await super()._receive(request)


def _filing(key: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "OFF_CONTRACT",
        "title": key,  # what the stored cases are counted by
        "requester": "rita",
        "amount": 900.0,
    }
    if int(key.rsplit("-", 1)[1]) % 2 == 0:  # half also carry a source + external_id
        body |= {"source": "erp", "external_id": key}
    return body


async def _post(http: aiohttp.ClientSession, key: str) -> int | None:
    """The answer's status, or None when there was no answer (refused, reset, closed)."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": key}
    try:
        async with http.post("/api/v1/exceptions", json=_filing(key), headers=headers) as answer:
            await answer.read()
            return answer.status
    except (aiohttp.ClientError, OSError, TimeoutError):
        return None


async def _client(
    base: str, keys: list[str], ok: list[str], failed: list[str], enough: asyncio.Event
) -> None:
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, timeout=timeout) as http:
        for key in keys:
            status = await _post(http, key)
            if status is None or status == 503:  # 503: the database was busy; send again
                failed.append(key)
            else:
                assert status in (200, 201), f"{key}: HTTP {status}"
                ok.append(key)
                if len(ok) >= STOP_AFTER:
                    enough.set()


async def _until(done: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _keep_steps_due(db: Database, stop: asyncio.Event) -> None:
    """Make every open step due again and again, so the sweep claims batches under load."""
    while not stop.is_set():
        past = datetime.now(UTC) - timedelta(minutes=1)
        try:
            async with db.transaction() as conn:
                await conn.execute(
                    update(steps).where(steps.c.status == "open").values(next_action_at=past)
                )
        except Exception as error:  # SQLite's write lock was busy: the next round makes it
            print(f"steps not made due this round: {error}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.3)


async def _stop(process: subprocess.Popen[str], log: Path, *, signalled: bool = False) -> str:
    """SIGTERM (unless sent already); it exits 0 within the bound, and says no traceback."""
    if not signalled:
        process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = await asyncio.to_thread(process.wait, EXIT_WITHIN)
    took = time.monotonic() - started
    said = await asyncio.to_thread(log.read_text, encoding="utf-8")
    assert code == 0, said
    assert "Traceback" not in said, said
    assert "shutting down" in said
    assert "stopped" in said
    assert took < EXIT_WITHIN
    return said


async def _titles(db: Database) -> Counter[str]:
    async with db.reading() as conn:
        return Counter((await conn.scalars(select(cases.c.title))).all())


async def _held(db: Database) -> dict[str, int]:
    async with db.reading() as conn:
        return await claims.held(conn)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = SlowReceiver({"hooks": SECRET})
    await receiver.start()
    yield receiver
    await receiver.close()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI(users=USERS) as fake:
        yield fake


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(database_url)
    await upgrade(database)  # PostgreSQL is migrated by a Job, never by `serve`
    try:
        yield database
    finally:
        await database.dispose()


def _serve_env(database_url: str, receiver: Receiver, slack: FakeSlackAPI) -> dict[str, str]:
    return {
        "APPROVALS_DATABASE_URL": database_url,
        "APPROVALS_POLICY_FILE": str(TEST_POLICY),
        "APPROVALS_API_TOKEN": TOKEN,
        "APPROVALS_WEBHOOK_URL": receiver.url("hooks"),
        "APPROVALS_WEBHOOK_SECRET": SECRET,
        "APPROVALS_SWEEP_SECONDS": "1",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "drain-signing-secret",
        "SLACK_API_URL": slack.url,
    }


async def _load_then_sigterm(
    base: str, process: subprocess.Popen[str], log: Path, db: Database
) -> tuple[list[str], list[str]]:
    ok: list[str] = []
    failed: list[str] = []
    keys = [[f"c{c:02d}-{i}" for i in range(PER_CLIENT)] for c in range(CLIENTS)]
    stop_forcing = asyncio.Event()
    forcing = asyncio.create_task(_keep_steps_due(db, stop_forcing))
    enough = asyncio.Event()
    clients = [asyncio.create_task(_client(base, mine, ok, failed, enough)) for mine in keys]
    try:
        await asyncio.wait_for(enough.wait(), 60)
        process.send_signal(signal.SIGTERM)  # the clients keep sending while it drains
        stop_forcing.set()
        await forcing
        await _stop(process, log, signalled=True)
        await asyncio.gather(*clients)
    finally:
        stop_forcing.set()
        for task in (*clients, forcing):
            task.cancel()
    print(f"{len(ok)} filings answered 2xx, {len(failed)} to send again")
    assert failed, "the SIGTERM came after the load: nothing was in flight"
    return ok, failed


async def _settled(db: Database, receiver: Receiver) -> bool:
    async with db.reading() as conn:
        waiting = await conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
        )
        statuses = (await conn.scalars(select(webhook_deliveries.c.status))).all()
    if waiting or any(status != "delivered" for status in statuses):
        return False
    return len(receiver.delivered("hooks")) >= len(statuses)


async def test_sigterm_under_load_drains_and_a_restart_repeats_nothing(
    db: Database, database_url: str, receiver: Receiver, slack: FakeSlackAPI, tmp_path: Path
) -> None:
    env = _serve_env(database_url, receiver, slack)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    with first_log.open("w", encoding="utf-8") as out, running_serve(env, output=out) as first:
        ok, failed = await _load_then_sigterm(*first, first_log, db)

    stored = await _titles(db)
    assert all(stored[key] == 1 for key in ok), "a 2xx filing is missing or stored twice"
    assert await _held(db) == dict.fromkeys(await _held(db), 0), "a claim outlived its process"

    with second_log.open("w", encoding="utf-8") as out, running_serve(env, output=out) as second:
        base, process = second
        async with aiohttp.ClientSession(base) as http:
            again = await asyncio.gather(*(_post(http, key) for key in failed))
        assert all(status in (200, 201) for status in again), again
        await _until(lambda: _settled(db, receiver), SETTLE_WITHIN, "every delivery")
        await _stop(process, second_log)

    keys = {f"c{c:02d}-{i}" for c in range(CLIENTS) for i in range(PER_CLIENT)}
    assert await _titles(db) == Counter(dict.fromkeys(keys, 1))  # each filing exactly once
    assert all(count == 0 for count in (await _held(db)).values())
    await _check_deliveries(db, receiver, slack)
    verify = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "audit", "verify"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "audit log intact" in verify.stdout


async def _check_deliveries(db: Database, receiver: Receiver, slack: FakeSlackAPI) -> None:
    """Every webhook delivered once (by `webhook-id`), every card posted once."""
    async with db.reading() as conn:
        ids = set((await conn.scalars(select(webhook_deliveries.c.message_id))).all())
        cards = await conn.scalar(
            select(func.count()).select_from(card_refs).where(card_refs.c.platform == "slack")
        )
    assert receiver.bad == []
    delivered = Counter(r.webhook_id for r in receiver.delivered("hooks"))
    assert set(delivered) == ids
    assert set(delivered.values()) == {1}, "a webhook was delivered twice"
    posted = [c for c in slack.calls("chat.postMessage") if c.ok and c.params.get("blocks")]
    assert cards
    assert len(posted) == cards  # a card posted twice would have no card_ref of its own

"""Webhooks delivered to a real receiver that verifies each signature with `standardwebhooks`:
in order per case through 503s and a 429, the same webhook-id on every attempt, a deliverer
restarted mid-retry, 410 disabling an endpoint, other 4xx giving up, the retry window, and
what /metrics says. The clock is a manual one near real time (the receiver checks the
signed timestamp against its own clock); the backoff's random draw is fixed."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.metrics import Metrics
from bot.server import create_app
from bot.webhook_config import Endpoints
from bot.webhook_delivery import WebhookDeliverer, backoff, retry_after
from handlers.clock import ManualClock
from handlers.commands import Decide
from handlers.context import Services
from handlers.deciding import decide
from policy.loader import parse_policy
from storage import webhooks
from storage.database import Database
from storage.records import Action
from storage.webhooks import Delivery, DeliveryStatus
from tests.bot.webhook_receiver import Receiver, new_secret
from tests.conftest import TEST_POLICY
from tests.handlers.conftest import file, outbox_rows, person

SECRET, ERP_SECRET = new_secret(1), new_secret(2)
HALF = 0.5  # the backoff's random draw: half of each ceiling


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver({"default": SECRET, "erp": ERP_SECRET, "far": None})
    await receiver.start()
    yield receiver
    await receiver.close()


@pytest.fixture
def hooked(db: Database, receiver: Receiver) -> Services:
    text = TEST_POLICY.read_text(encoding="utf-8") + (
        f"sources:\n  erp: {{webhook_url: {receiver.url('erp')!r}, secret_env: ERP_SECRET}}\n"
    )
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    policy = parse_policy(text, "p.yaml")
    return Services(db, policy, clock, default_webhook_url=receiver.url("default"))


def deliverer(svc: Services, metrics: Metrics | None = None) -> WebhookDeliverer:
    endpoints = Endpoints(svc, SECRET, environ={"ERP_SECRET": ERP_SECRET})
    return WebhookDeliverer(svc, endpoints, metrics=metrics, rand=lambda: HALF)


async def rows(svc: Services) -> list[Delivery]:
    async with svc.db.reading() as conn:
        return sorted(await webhooks.listing(conn), key=lambda d: d.id)


def advance(svc: Services, delta: timedelta) -> None:
    assert isinstance(svc.clock, ManualClock)
    svc.clock.advance(delta)


async def test_in_order_through_503s_and_a_429_with_one_webhook_id(
    hooked: Services, receiver: Receiver
) -> None:
    metrics = Metrics.create()
    sender = deliverer(hooked, metrics)
    case = (await file(hooked)).case
    await decide(hooked, person("lee"), Decide(case.id, Action.APPROVE))
    receiver.answer("default", 503, 503, (429, {"Retry-After": "1"}))
    filed, approved = await rows(hooked)

    assert await sender.deliver_due() == 1  # the approval waits behind the filing
    (after_503, waiting) = await rows(hooked)
    assert after_503.next_attempt_at == hooked.clock.now() + backoff(0, lambda: HALF)
    assert (after_503.attempts, after_503.last_status, waiting.attempts) == (1, 503, 0)
    assert await sender.deliver_due() == 0  # not due yet, and the approval still waits

    advance(hooked, timedelta(seconds=2.5))
    assert await sender.deliver_due() == 1  # 503 again: 5 s
    advance(hooked, timedelta(seconds=5))
    assert await sender.deliver_due() == 1  # 429: Retry-After honoured exactly
    assert (await rows(hooked))[0].next_attempt_at == hooked.clock.now() + timedelta(seconds=1)
    advance(hooked, timedelta(seconds=1))
    assert await sender.deliver_due() == 1  # delivered
    assert await sender.deliver_due() == 1  # then the approval
    await sender.close()

    assert receiver.bad == []
    assert receiver.ids("default") == [filed.message_id] * 4 + [approved.message_id]
    delivered = receiver.delivered("default")
    assert [r.type for r in delivered] == ["exception.filed", "exception.approved"]
    assert [r.body["data"]["status"] for r in delivered] == ["pending", "approved"]
    assert {d.status for d in await rows(hooked)} == {DeliveryStatus.DELIVERED}
    attempts = metrics.webhook_attempts
    assert attempts.labels("retry")._value.get() == 3
    assert attempts.labels("delivered")._value.get() == 2


async def test_a_deliverer_stopped_mid_retry_is_followed_by_one_that_sends_it_once(
    hooked: Services, receiver: Receiver, database_url: str
) -> None:
    await file(hooked)
    receiver.answer("default", 503)
    first = deliverer(hooked)
    assert await first.deliver_due() == 1
    await first.close()  # the process stops between retries

    restarted_db = Database.from_url(database_url)
    restarted = dataclasses.replace(hooked, db=restarted_db)
    second = deliverer(restarted)
    try:
        assert await second.deliver_due() == 0  # not due yet: nothing is sent early
        advance(hooked, timedelta(minutes=1))
        assert await second.deliver_due() == 1
        assert await second.deliver_due() == 0
    finally:
        await second.close()
        await restarted_db.dispose()
    (row,) = await rows(hooked)
    assert (row.status, row.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert receiver.ids("default") == [row.message_id] * 2
    assert len(receiver.delivered("default")) == 1


async def test_a_410_disables_the_endpoint_and_tells_the_admins(
    hooked: Services, receiver: Receiver
) -> None:
    sender = deliverer(hooked)
    erp = (await file(hooked, source="erp", external_id="PO-1")).case
    other = (await file(hooked)).case  # the default endpoint carries on
    receiver.answer("erp", 410)
    assert await sender.deliver_due() == 2
    await decide(hooked, person("lee"), Decide(erp.id, Action.APPROVE))  # queued: waits
    assert await sender.deliver_due() == 0
    await sender.close()

    statuses = [(d.case_id, d.endpoint, d.status, d.last_status) for d in await rows(hooked)]
    assert statuses == [
        (erp.id, "erp", DeliveryStatus.DISABLED, 410),
        (other.id, "default", DeliveryStatus.DELIVERED, 200),
        (erp.id, "erp", DeliveryStatus.DISABLED, None),
    ]
    notes = [(who, text) for kind, who, text in await outbox_rows(hooked.db) if who == "ada"]
    assert len(notes) == 1
    assert "disabled" in (notes[0][1] or "")
    assert "redeliver --failed" in (notes[0][1] or "")
    assert len(receiver.ids("erp")) == 1


async def test_another_4xx_gives_up_on_that_message_only(
    hooked: Services, receiver: Receiver
) -> None:
    metrics = Metrics.create()
    sender = deliverer(hooked, metrics)
    case = (await file(hooked)).case
    await decide(hooked, person("lee"), Decide(case.id, Action.APPROVE))
    receiver.answer("default", 400)
    assert await sender.deliver_due() == 1
    assert await sender.deliver_due() == 1  # the next message of the case goes on
    await sender.close()
    failed, delivered = await rows(hooked)
    assert (failed.status, failed.attempts, failed.last_status) == (DeliveryStatus.FAILED, 1, 400)
    assert failed.last_error == "HTTP 400: not retried"
    assert delivered.status is DeliveryStatus.DELIVERED
    assert metrics.webhook_failures._value.get() == 1


async def test_failures_are_retried_for_three_days_then_given_up(
    hooked: Services, receiver: Receiver
) -> None:
    # Days ahead of real time: the receiver takes these without checking the timestamp.
    far = dataclasses.replace(hooked, default_webhook_url=receiver.url("far"))
    assert isinstance(far.clock, ManualClock)
    sender = deliverer(far)
    await file(far)
    receiver.answer("far", 500, 500, (429, {"Retry-After": str(7 * 24 * 3600)}), 500)
    await sender.deliver_due()
    (row,) = await rows(far)
    far.clock.set(row.next_attempt_at)
    await sender.deliver_due()
    (row,) = await rows(far)
    far.clock.set(row.next_attempt_at)
    await sender.deliver_due()  # a Retry-After beyond the window: one last try at its end
    (row,) = await rows(far)
    assert row.status is DeliveryStatus.PENDING
    assert row.next_attempt_at == row.retry_until == row.created_at + timedelta(days=3)
    far.clock.set(row.next_attempt_at)
    await sender.deliver_due()
    await sender.close()
    (row,) = await rows(far)
    assert (row.status, row.attempts, row.last_status) == (DeliveryStatus.FAILED, 4, 500)
    assert "retry window closed" in (row.last_error or "")
    assert receiver.ids("far") == [row.message_id] * 4


async def test_unreachable_endpoints_and_missing_secrets_are_retried(
    hooked: Services, receiver: Receiver
) -> None:
    closed = dataclasses.replace(hooked, default_webhook_url="http://127.0.0.1:9/nothing")
    await file(closed)
    await file(closed, source="erp", external_id="PO-1")
    endpoints = Endpoints(closed, SECRET, environ={})  # ERP_SECRET not set in this process
    sender = WebhookDeliverer(closed, endpoints, rand=lambda: HALF, timeout=2)
    assert await sender.deliver_due() == 2
    await sender.close()
    default, erp = await rows(hooked)
    assert default.status is DeliveryStatus.PENDING
    assert (default.last_error or "").startswith("cannot reach the endpoint")
    assert default.url == "http://127.0.0.1:9/nothing"
    assert (erp.status, erp.last_error) == (
        DeliveryStatus.PENDING,
        "ERP_SECRET (sources.erp.secret_env) is not set",
    )
    assert receiver.received == []


def test_retry_after_is_seconds_or_an_http_date() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert retry_after("7", now) == timedelta(seconds=7)
    assert retry_after("Tue, 01 Dec 2026 12:01:30 GMT", now) == timedelta(seconds=90)
    assert retry_after("Tue, 01 Dec 2026 11:00:00 GMT", now) == timedelta(0)
    assert retry_after("soon", now) is None
    assert retry_after(None, now) is None
    assert retry_after("9" * 400, now) is not None  # huge, but not an overflow


def test_backoff_doubles_with_full_jitter_up_to_a_ceiling() -> None:
    assert backoff(0, lambda: 1.0) == timedelta(seconds=5)
    assert backoff(3, lambda: 1.0) == timedelta(seconds=40)
    assert backoff(3, lambda: 0.0) == timedelta(0)
    assert backoff(60, lambda: 1.0) == timedelta(hours=1)


async def test_metrics_show_attempts_failures_and_the_oldest_waiting(
    hooked: Services, receiver: Receiver
) -> None:
    metrics = Metrics.create()
    sender = deliverer(hooked, metrics)
    await file(hooked)
    receiver.answer("default", 503)
    await sender.deliver_due()
    await sender.close()
    advance(hooked, timedelta(seconds=90))
    server = TestServer(create_app(hooked, api_token=None, metrics_=metrics), port=0)
    await server.start_server()
    try:
        async with ClientSession() as http, http.get(server.make_url("/metrics")) as response:
            text = await response.text()
    finally:
        await server.close()
    assert 'approvals_webhook_attempts_total{outcome="retry"} 1.0' in text
    assert "approvals_webhook_failures_total 0.0" in text
    assert "approvals_webhook_oldest_pending_seconds 90.0" in text

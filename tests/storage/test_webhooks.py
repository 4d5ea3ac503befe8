"""Webhook deliveries in storage: claims in order per case, leases, replicas, 410s, redelivery
(on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from handlers.clock import ManualClock
from storage import webhooks
from storage.database import Database
from storage.webhooks import Delivery, DeliveryStatus, NewWebhook
from tests.storage.factories import create_case

LEASE = timedelta(minutes=2)


async def _cases(db: Database, clock: ManualClock, n: int) -> list[int]:
    async with db.transaction() as conn:
        return [await create_case(conn, clock.now()) for _ in range(n)]


def _hook(case_id: int, kind: str, endpoint: str = "default") -> NewWebhook:
    return NewWebhook(case_id, endpoint, f"https://{endpoint}.example/h", kind, '{"type": 1}')


async def _enqueue(db: Database, clock: ManualClock, *hooks: NewWebhook) -> None:
    async with db.transaction() as conn:
        await webhooks.enqueue(conn, list(hooks), clock.now())


async def _claim(db: Database, clock: ManualClock, owner: str, limit: int = 10) -> list[Delivery]:
    async with db.transaction() as conn:
        return await webhooks.claim(conn, clock.now(), owner, LEASE, limit)


async def _all(db: Database) -> list[Delivery]:
    async with db.reading() as conn:
        return sorted(await webhooks.listing(conn), key=lambda d: d.id)


async def test_only_the_oldest_pending_message_of_a_case_is_claimed(
    db: Database, clock: ManualClock
) -> None:
    a, b = await _cases(db, clock, 2)
    await _enqueue(db, clock, _hook(a, "exception.filed"), _hook(a, "exception.approved"))
    await _enqueue(db, clock, _hook(b, "exception.filed"))
    first = await _claim(db, clock, "one")
    assert [(d.case_id, d.event_type) for d in first] == [
        (a, "exception.filed"),
        (b, "exception.filed"),
    ]
    assert all(d.message_id.startswith("msg_") and d.attempts == 0 for d in first)
    # Claimed by someone else: the case is skipped, its later message too.
    assert await _claim(db, clock, "two") == []
    # A retry scheduled later keeps the case's next message waiting behind it.
    async with db.transaction() as conn:
        await webhooks.mark_retry(
            conn, first[0].id, "one", first[0].url, 503, "HTTP 503", clock.now() + timedelta(1)
        )
        await webhooks.mark_delivered(conn, first[1].id, "one", first[1].url, 200, clock.now())
    assert await _claim(db, clock, "two") == []
    clock.advance(timedelta(days=1))
    again = await _claim(db, clock, "two")
    assert [(d.message_id, d.attempts) for d in again] == [(first[0].message_id, 1)]
    async with db.transaction() as conn:
        await webhooks.mark_delivered(conn, again[0].id, "two", again[0].url, 200, clock.now())
    assert [d.event_type for d in await _claim(db, clock, "two")] == ["exception.approved"]


async def test_endpoints_of_one_case_are_ordered_apart(db: Database, clock: ManualClock) -> None:
    (a,) = await _cases(db, clock, 1)
    await _enqueue(db, clock, _hook(a, "exception.filed", "erp"), _hook(a, "exception.filed"))
    assert {d.endpoint for d in await _claim(db, clock, "one")} == {"erp", "default"}


async def test_a_lease_runs_out_and_the_stale_owner_cannot_record(
    db: Database, clock: ManualClock
) -> None:
    (a,) = await _cases(db, clock, 1)
    await _enqueue(db, clock, _hook(a, "exception.filed"))
    (stalled,) = await _claim(db, clock, "stalled")
    clock.advance(LEASE + timedelta(seconds=1))
    (taken,) = await _claim(db, clock, "fresh")
    assert taken.id == stalled.id
    async with db.transaction() as conn:
        assert not await webhooks.mark_delivered(conn, stalled.id, "stalled", "u", 200, clock.now())
        assert await webhooks.mark_delivered(conn, taken.id, "fresh", "u", 200, clock.now())
    (row,) = await _all(db)
    assert (row.status, row.attempts, row.last_status) == (DeliveryStatus.DELIVERED, 1, 200)


async def test_replicas_claiming_at_once_never_share_a_message(
    db: Database, database_url: str, clock: ManualClock
) -> None:
    cases = await _cases(db, clock, 12)
    await _enqueue(db, clock, *(_hook(c, "exception.filed") for c in cases))
    replicas = [Database.from_url(database_url) for _ in range(2)]
    try:
        claims = await asyncio.gather(
            *(
                _claim(replica, clock, f"replica-{n}", limit=4)
                for n, replica in enumerate([db, *replicas])
                for _ in range(2)
            )
        )
    finally:
        for replica in replicas:
            await replica.dispose()
    ids = [d.id for batch in claims for d in batch]
    assert len(ids) == len(set(ids)) == 12


async def test_a_410_disables_the_endpoint_and_its_messages_wait(
    db: Database, clock: ManualClock
) -> None:
    a, b = await _cases(db, clock, 2)
    await _enqueue(db, clock, *(_hook(c, "exception.filed", "erp") for c in (a, b)))
    await _enqueue(db, clock, _hook(a, "exception.filed"))
    first, _other, _default = await _claim(db, clock, "one")
    async with db.transaction() as conn:
        assert await webhooks.disable_endpoint(
            conn, first.id, "one", "erp", first.url, "gone", clock.now()
        )
        assert await webhooks.disabled_endpoints(conn) == {"erp"}
    await _enqueue(db, clock, _hook(b, "exception.approved", "erp"))
    statuses = [(d.endpoint, d.status) for d in await _all(db)]
    assert statuses == [
        ("erp", DeliveryStatus.DISABLED),
        ("erp", DeliveryStatus.DISABLED),  # pending, and claimed: disabled, its claim stays
        ("default", DeliveryStatus.PENDING),
        ("erp", DeliveryStatus.DISABLED),  # queued after: waits too
    ]
    async with db.reading() as conn:
        failed = await webhooks.listing(conn, needs_operator=True)
    assert len(failed) == 3


async def test_redeliver_one_reenables_its_endpoint_and_failed_queues_everything(
    db: Database, clock: ManualClock
) -> None:
    a, b = await _cases(db, clock, 2)
    await _enqueue(db, clock, *(_hook(c, "exception.filed", "erp") for c in (a, b)))
    await _enqueue(db, clock, _hook(a, "exception.filed"))
    gone, other, default = await _claim(db, clock, "one")
    async with db.transaction() as conn:
        await webhooks.disable_endpoint(conn, gone.id, "one", "erp", gone.url, "gone", clock.now())
        await webhooks.mark_failed(conn, other.id, "one", other.url, 400, "HTTP 400")
        await webhooks.mark_failed(conn, default.id, "one", default.url, 404, "HTTP 404")
    clock.advance(timedelta(days=5))
    async with db.transaction() as conn:
        found = await webhooks.find(conn, gone.message_id)
        assert found is not None
        assert found.id == gone.id
        assert await webhooks.find(conn, str(gone.id)) == found
        assert await webhooks.find(conn, "msg_nope") is None
        assert await webhooks.redeliver(conn, found, clock.now()) == 1
        assert await webhooks.disabled_endpoints(conn) == set()
    again = {d.id: d for d in await _all(db)}
    assert again[gone.id].status is DeliveryStatus.PENDING
    assert again[gone.id].attempts == 0
    assert again[gone.id].retry_until == clock.now() + webhooks.RETRY_FOR
    assert again[gone.id].message_id == gone.message_id
    assert again[default.id].status is DeliveryStatus.FAILED
    async with db.transaction() as conn:
        assert await webhooks.redeliver_failed(conn, clock.now()) == 2
    assert {d.status for d in await _all(db)} == {DeliveryStatus.PENDING}


async def test_the_oldest_undelivered_message(db: Database, clock: ManualClock) -> None:
    (a,) = await _cases(db, clock, 1)
    async with db.reading() as conn:
        assert await webhooks.oldest_undelivered(conn) is None
    start = clock.now()
    await _enqueue(db, clock, _hook(a, "exception.filed"))
    clock.advance(timedelta(minutes=3))
    await _enqueue(db, clock, _hook(a, "exception.approved"))
    async with db.reading() as conn:
        assert await webhooks.oldest_undelivered(conn) == start
        assert await webhooks.any_due(conn, clock.now())
    (claimed,) = await _claim(db, clock, "one")
    async with db.transaction() as conn:
        await webhooks.mark_delivered(conn, claimed.id, "one", claimed.url, 204, clock.now())
    async with db.reading() as conn:
        assert await webhooks.oldest_undelivered(conn) == start + timedelta(minutes=3)


async def test_release_hands_claims_back(db: Database, clock: ManualClock) -> None:
    (a,) = await _cases(db, clock, 1)
    await _enqueue(db, clock, _hook(a, "exception.filed"))
    assert len(await _claim(db, clock, "stopping")) == 1
    async with db.transaction() as conn:
        await webhooks.release(conn, "stopping")
    assert len(await _claim(db, clock, "next")) == 1

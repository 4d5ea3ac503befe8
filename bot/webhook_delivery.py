"""The webhook deliverer: POSTs queued webhooks, signed per the Standard Webhooks spec.

Every attempt of a message carries its `webhook-id`, the attempt's `webhook-timestamp` and a
`webhook-signature` made by the `standardwebhooks` package over the exact stored body. What
an answer means:
- 2xx: delivered.
- 410 Gone: the endpoint is disabled; its messages wait (disabled) and every admin of the
  policy is told in chat, until `approvals webhooks redeliver` brings it back.
- 429: retried after its Retry-After (seconds or an HTTP date), else as a 5xx.
- 5xx, 408, no answer within the timeout, no connection: retried with exponential backoff
  and full jitter, until the message's retry window (3 days) closes; then it fails.
- anything else (another 4xx, a redirect, which is never followed): the message fails now.

Claims keep replicas from sending one message twice at once (see storage.webhooks). A claim
holds at most one message per case and endpoint, so a batch is sent concurrently without
ever reordering a case's messages.
"""

from __future__ import annotations

import asyncio
import email.utils
import enum
import logging
import math
import os
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy.ext.asyncio import AsyncConnection
from standardwebhooks.webhooks import Webhook

from bot.metrics import Metrics
from bot.webhook_config import Endpoints, Target
from handlers.context import Services
from policy.effects import MessageKind, OutgoingMessage
from policy.policy_edits import admins_of
from storage import outbox, webhooks
from storage.webhooks import Delivery

log = logging.getLogger(__name__)

ATTEMPT_TIMEOUT = 10.0  # seconds, for the whole attempt
CLAIM_LEASE = timedelta(minutes=2)  # far longer than an attempt may take
BATCH = 10
BASE_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)
MAX_RETRY_AFTER = 10**7  # seconds; a larger Retry-After is cut to the retry window anyway


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    DISABLED = "disabled"


def backoff(attempts: int, rand: Callable[[], float]) -> timedelta:
    """Full jitter: anywhere between nothing and a ceiling that doubles with each attempt."""
    ceiling = min(BASE_BACKOFF * (1 << min(max(attempts, 0), 20)), MAX_BACKOFF)
    return ceiling * rand()


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (delay-seconds or an HTTP date) as a wait from `now`; None if
    there is none or it cannot be read."""
    text = (value or "").strip()
    if text.isascii() and text.isdigit():
        return timedelta(seconds=min(int(text), MAX_RETRY_AFTER))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))


@dataclass(frozen=True, slots=True)
class Answer:
    status: int | None  # None: no HTTP answer
    error: str
    retry_after: timedelta | None = None


class WebhookDeliverer:
    def __init__(
        self,
        services: Services,
        endpoints: Endpoints,
        *,
        metrics: Metrics | None = None,
        on_notify: Callable[[], None] | None = None,
        rand: Callable[[], float] = random.random,
        lease: timedelta = CLAIM_LEASE,
        timeout: float = ATTEMPT_TIMEOUT,
    ) -> None:
        self.services = services
        self.endpoints = endpoints
        self.metrics = metrics
        self.on_notify = on_notify  # chat messages were queued (an endpoint was disabled)
        self.rand = rand
        self.lease = lease
        self.timeout = timeout
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._session: aiohttp.ClientSession | None = None

    async def deliver_due(self, limit: int = BATCH) -> int:
        """Attempt what is due now; returns how many messages were attempted."""
        svc = self.services
        now = svc.clock.now()
        async with svc.db.reading() as conn:
            if not await webhooks.any_due(conn, now):
                return 0
        owner, lease = self.owner, self.lease
        batch = await svc.db.write(lambda conn: webhooks.claim(conn, now, owner, lease, limit))
        await asyncio.gather(*(self._deliver(delivery) for delivery in batch))
        return len(batch)

    async def close(self) -> None:
        """Close the HTTP session and hand back this deliverer's claims."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        owner = self.owner
        await self.services.db.write(lambda conn: webhooks.release(conn, owner))

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            outcome = await self._attempt(delivery)
        except Exception:  # the claim runs out and the message is tried again
            log.exception("webhook %s: the attempt failed unexpectedly", delivery.message_id)
            return
        if self.metrics is not None:
            self.metrics.webhook_attempts.labels(outcome.value).inc()
            if outcome is Outcome.FAILED:
                self.metrics.webhook_failures.inc()

    async def _attempt(self, delivery: Delivery) -> Outcome:
        target = self.endpoints.resolve(delivery.endpoint)
        if isinstance(target, str):
            log.warning("webhook %s cannot be sent: %s", delivery.message_id, target)
            return await self._retry(delivery, delivery.url, Answer(None, target))
        answer = await self._post(delivery, target)
        status = answer.status
        if status is not None and 200 <= status < 300:
            return await self._delivered(delivery, target.url, status)
        if status == 410:
            return await self._disable(delivery, target.url)
        if status is None or status in (408, 429) or status >= 500:
            return await self._retry(delivery, target.url, answer)
        return await self._fail(delivery, target.url, status, f"{answer.error}: not retried")

    async def _post(self, delivery: Delivery, target: Target) -> Answer:
        now = self.services.clock.now().astimezone(UTC)
        headers = {
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(math.floor(now.timestamp())),
            "webhook-signature": Webhook(target.secret).sign(
                delivery.message_id, now, delivery.payload
            ),
            "Content-Type": "application/json",
        }
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(
                target.url,
                data=delivery.payload.encode(),
                headers=headers,
                allow_redirects=False,  # a signed body goes where it was configured to, only
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                status = response.status
                wait = retry_after(response.headers.get("Retry-After"), now)
        except TimeoutError:
            return Answer(None, f"no answer within {self.timeout:g} s")
        except (aiohttp.ClientError, OSError, ValueError) as error:
            return Answer(None, f"cannot reach the endpoint: {type(error).__name__}: {error}")
        said = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
        return Answer(status, said, wait if status == 429 else None)

    async def _delivered(self, delivery: Delivery, url: str, status: int) -> Outcome:
        owner, now = self.owner, self.services.clock.now()
        kept = await self.services.db.write(
            lambda conn: webhooks.mark_delivered(conn, delivery.id, owner, url, status, now)
        )
        self._lost(delivery, kept)
        return Outcome.DELIVERED

    async def _retry(self, delivery: Delivery, url: str, answer: Answer) -> Outcome:
        now = self.services.clock.now()
        if now >= delivery.retry_until:
            closed = f"{delivery.retry_until:%Y-%m-%d %H:%M} UTC"
            error = f"{answer.error}; still failing when its retry window closed ({closed})"
            return await self._fail(delivery, url, answer.status, error)
        wait = answer.retry_after
        if wait is None:
            wait = backoff(delivery.attempts, self.rand)
        at = min(now + wait, delivery.retry_until)
        owner = self.owner
        kept = await self.services.db.write(
            lambda conn: webhooks.mark_retry(
                conn, delivery.id, owner, url, answer.status, answer.error, at
            )
        )
        self._lost(delivery, kept)
        return Outcome.RETRY

    async def _fail(self, delivery: Delivery, url: str, status: int | None, error: str) -> Outcome:
        owner = self.owner
        kept = await self.services.db.write(
            lambda conn: webhooks.mark_failed(conn, delivery.id, owner, url, status, error)
        )
        self._lost(delivery, kept)
        log.warning(
            "webhook %s (%s of %s) to %s failed for good: %s",
            delivery.message_id,
            delivery.event_type,
            delivery.endpoint,
            _host(url),
            error,
        )
        return Outcome.FAILED

    async def _disable(self, delivery: Delivery, url: str) -> Outcome:
        svc = self.services
        now = svc.clock.now()
        reason = f"{_host(url)} answered 410 Gone to {delivery.message_id}"
        admins = sorted(admins_of(svc.policy))
        note = (
            f"Webhooks to {delivery.endpoint} ({_host(url)}) are disabled: the endpoint "
            f"answered 410 Gone. Its messages wait. Once it is back, run "
            "`approvals webhooks redeliver --failed`."
        )
        told = [OutgoingMessage(MessageKind.NOTIFY, recipient=a, text=note) for a in admins]
        owner = self.owner

        async def unit(conn: AsyncConnection) -> bool:
            newly = await webhooks.disable_endpoint(
                conn, delivery.id, owner, delivery.endpoint, url, reason, now
            )
            if newly:
                await outbox.enqueue(conn, told, now)
            return newly

        newly = await svc.db.write(unit)
        if newly:
            log.warning("webhook endpoint %s disabled: %s", delivery.endpoint, reason)
            if self.on_notify is not None:
                self.on_notify()
        return Outcome.DISABLED

    def _lost(self, delivery: Delivery, kept: bool) -> None:
        if not kept:
            log.warning(
                "webhook %s: the claim ran out during the attempt; its outcome is not recorded",
                delivery.message_id,
            )


def _host(url: str) -> str:
    """Where a URL points, without its path or query (which may carry a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

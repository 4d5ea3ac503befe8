"""The outbox deliverer: sends pending messages through the platforms' messengers.

Cards are rendered from the case's state at delivery time (a policy proposal's card from its
version's, in bot.policy_delivery), and a card that already exists is updated in place, so
delivering a message twice is harmless. A failure leaves the message in
the outbox for a later attempt with exponential backoff (or the platform's Retry-After).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from functools import partial

from bot.card_views import build_card_view
from bot.delivery_metrics import delivering, metered
from bot.messaging import DeliveryError, Messenger, PostedCard, Unreachable
from bot.metrics import Metrics
from bot.policy_delivery import KINDS as POLICY_KINDS
from bot.policy_delivery import PolicyCardDeliverer
from bot.remediation_delivery import KINDS as REMEDIATION_KINDS
from bot.remediation_delivery import RemediationDeliverer
from handlers.context import Services
from handlers.queries import case_details
from policy.model import Person
from storage import outbox
from storage.database import Unit
from storage.outbox import CardRef, MessageKind, PendingMessage

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=2)  # longer than a batch takes; a crashed claim runs out
BASE_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=15)


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    if retry_after is not None:
        return timedelta(seconds=max(retry_after, 0.0))
    doubling = 1 << min(max(attempts, 0), 16)
    return min(BASE_BACKOFF * doubling, MAX_BACKOFF)


@contextlib.contextmanager
def _skip_unreachable(messenger: Messenger, person: Person) -> Iterator[None]:
    try:
        yield
    except Unreachable:
        log.info("%s has no %s account; message skipped there", person.id, messenger.platform)


class OutboxDeliverer:
    """Claims due messages (so replicas never send one twice at once) and delivers them."""

    def __init__(
        self,
        services: Services,
        messengers: Sequence[Messenger],
        *,
        lease: timedelta = CLAIM_LEASE,
        metrics: Metrics | None = None,
    ) -> None:
        self.services = services
        self.messengers = {m.platform: m for m in metered(list(messengers), metrics)}
        self.policy_cards = PolicyCardDeliverer(services, self.messengers)
        self.remediation = RemediationDeliverer(services, self.messengers)
        self.lease = lease
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.only_for: frozenset[str] | None = None  # claim only these people's (the console)
        self.stopping = False  # set at shutdown: the rest of the batch is handed back unsent

    async def deliver_due(self, limit: int = 50) -> int:
        """Deliver what is due now; returns how many messages were delivered."""
        svc = self.services
        now, owner, lease, only_for = svc.clock.now(), self.owner, self.lease, self.only_for
        batch = await svc.db.write(
            lambda conn: outbox.claim(conn, now, owner, lease, limit, only_for=only_for)
        )
        delivered = 0
        for message in batch:
            if self.stopping:
                break
            try:
                with delivering(message.kind):
                    await self._deliver(message)
            except DeliveryError as error:
                log.warning("delivery of outbox message %s failed: %s", message.id, error)
                await svc.db.write(self._failed(message, error))
                continue
            await svc.db.write(self._delivered(message.id))
            delivered += 1
        return delivered

    def _failed(self, message: PendingMessage, error: DeliveryError) -> Unit[None]:
        retry_in = backoff(message.attempts, error.retry_after)
        now, why, give_up = self.services.clock.now(), str(error), error.permanent
        return lambda conn: outbox.mark_failed(conn, message, why, now, retry_in, give_up=give_up)

    def _delivered(self, message_id: int) -> Unit[None]:
        now = self.services.clock.now()
        return lambda conn: outbox.mark_delivered(conn, message_id, now)

    def _person(self, person_id: str | None) -> Person | None:
        return self.services.policy.person(person_id) if person_id else None

    async def _deliver(self, message: PendingMessage) -> None:
        person = self._person(message.recipient)
        if message.kind is MessageKind.NOTIFY:
            if person is not None and message.text:
                for messenger in self._reaching(person):
                    with _skip_unreachable(messenger, person):
                        await messenger.notify(person, message.text)
        elif message.kind in POLICY_KINDS:
            await self.policy_cards.deliver(message)
        elif message.kind in REMEDIATION_KINDS:
            await self.remediation.deliver(message)
        elif message.kind is MessageKind.POST_CARD:
            if person is not None and message.case_id is not None:
                await self._post_card(message.case_id, person)
        elif message.case_id is not None:
            await self._update_cards(message.case_id)

    def _reaching(self, person: Person) -> list[Messenger]:
        return [m for m in self.messengers.values() if m.reaches(person)]

    async def _post_card(self, case_id: int, person: Person) -> None:
        """Post the card on every platform that reaches the person, or update the one there.

        Each posted card's reference is saved at once, so a retry after a partial failure
        updates what was posted instead of posting it again.
        """
        svc = self.services
        details = await case_details(svc, case_id)
        view = build_card_view(svc.policy, details, person.id, svc.clock.now())
        async with svc.db.reading() as conn:
            existing = {
                ref.platform: ref
                for ref in await outbox.card_refs_for_case(conn, case_id)
                if ref.person == person.id
            }
        for messenger in self._reaching(person):
            known = existing.get(messenger.platform)
            if known is not None:
                where = PostedCard(known.channel, known.message_id)
                await messenger.update_card(person, where, view)
                continue
            with _skip_unreachable(messenger, person):
                posted = await messenger.post_card(person, view)
                ref = CardRef(
                    case_id, person.id, messenger.platform, posted.channel, posted.message_id
                )
                await svc.db.write(partial(outbox.save_card_ref, ref=ref, now=svc.clock.now()))

    async def _update_cards(self, case_id: int) -> None:
        svc = self.services
        details = await case_details(svc, case_id)
        async with svc.db.reading() as conn:
            refs = await outbox.card_refs_for_case(conn, case_id)
        for ref in refs:
            messenger = self.messengers.get(ref.platform)
            person = self._person(ref.person)
            if messenger is None or person is None:
                continue
            view = build_card_view(svc.policy, details, person.id, svc.clock.now())
            await messenger.update_card(person, PostedCard(ref.channel, ref.message_id), view)

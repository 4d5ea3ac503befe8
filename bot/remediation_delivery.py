"""Delivering remediation items' cards and the daily digests.

An item's card is built from the stored item at delivery time, posted to the person on every
platform that reaches them (or updated where it already is, its place saved at once so a retry
updates rather than posts again), and re-rendered everywhere when the item changes. A digest
carries its lines in the message: it says what waited when it was sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import partial

from bot.messaging import Messenger, PostedCard, Unreachable
from cards.remediation_view import RemediationView, build_digest_view, build_remediation_view
from handlers.context import Services
from policy.model import Person
from storage import remediation as items
from storage.outbox import MessageKind, PendingMessage
from storage.remediation import ItemCardRef

log = logging.getLogger(__name__)

KINDS = (MessageKind.REMEDIATION_CARD, MessageKind.REMEDIATION_UPDATE, MessageKind.DIGEST)


class RemediationDeliverer:
    def __init__(self, services: Services, messengers: Mapping[str, Messenger]) -> None:
        self.services = services
        self.messengers = messengers

    def _reaching(self, person: Person) -> list[Messenger]:
        return [m for m in self.messengers.values() if m.reaches(person)]

    async def deliver(self, message: PendingMessage) -> None:
        svc = self.services
        person = svc.policy.person(message.recipient or "")
        if message.kind is MessageKind.DIGEST:
            if person is not None and message.digest:
                digest = build_digest_view(svc.policy, person.id, message.digest)
                for messenger in self._reaching(person):
                    try:
                        await messenger.post_digest(person, digest)
                    except Unreachable:
                        log.info(
                            "%s has no %s account; digest skipped", person.id, messenger.platform
                        )
            return
        item_id = message.remediation_id
        async with svc.db.reading() as conn:
            item = None if item_id is None else await items.get_item(conn, item_id)
        if item is None:
            log.info("outbox message %s names no remediation item", message.id)
            return
        view = build_remediation_view(svc.policy, item, svc.clock.now())
        if message.kind is MessageKind.REMEDIATION_CARD:
            if person is not None:
                await self._post(item.id, person, view)
        else:
            await self._update(item.id, view)

    async def _post(self, item_id: int, person: Person, view: RemediationView) -> None:
        svc = self.services
        async with svc.db.reading() as conn:
            existing = {
                ref.platform: ref
                for ref in await items.card_refs(conn, item_id)
                if ref.person == person.id
            }
        for messenger in self._reaching(person):
            known = existing.get(messenger.platform)
            if known is not None:
                await messenger.update_remediation(
                    person, PostedCard(known.channel, known.message_id), view
                )
                continue
            try:
                posted = await messenger.post_remediation(person, view)
            except Unreachable:
                log.info("%s has no %s account; item card skipped", person.id, messenger.platform)
                continue
            ref = ItemCardRef(
                item_id, person.id, messenger.platform, posted.channel, posted.message_id
            )
            await svc.db.write(partial(items.save_card_ref, ref=ref, now=svc.clock.now()))

    async def _update(self, item_id: int, view: RemediationView) -> None:
        async with self.services.db.reading() as conn:
            refs = await items.card_refs(conn, item_id)
        for ref in refs:
            messenger = self.messengers.get(ref.platform)
            person = self.services.policy.person(ref.person)
            if messenger is not None and person is not None:
                where = PostedCard(ref.channel, ref.message_id)
                await messenger.update_remediation(person, where, view)

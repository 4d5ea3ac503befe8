"""Delivering policy proposals' cards: posted to an admin on every platform that reaches them
(or updated where they already are), and re-rendered everywhere after a decision.

The card is built from the stored version at delivery time, so delivering a message twice, or
late, shows the version as it stands. Each posted card's place is saved at once, so a retry
after a partial failure updates what was posted instead of posting it again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import partial

from bot.messaging import Messenger, PostedCard, Unreachable
from bot.proposal_views import load_proposal_view
from cards.proposal_view import ProposalView
from handlers.context import Services
from policy.model import Person
from storage import policy_cards
from storage.outbox import MessageKind, PendingMessage
from storage.policy_cards import PolicyCardRef

log = logging.getLogger(__name__)

KINDS = (MessageKind.POLICY_CARD, MessageKind.POLICY_UPDATE)


class PolicyCardDeliverer:
    def __init__(self, services: Services, messengers: Mapping[str, Messenger]) -> None:
        self.services = services
        self.messengers = messengers

    async def deliver(self, message: PendingMessage) -> None:
        version_id = message.policy_version_id
        view = None if version_id is None else await load_proposal_view(self.services, version_id)
        if version_id is None or view is None:
            log.info("outbox message %s names no proposed policy version", message.id)
            return
        if message.kind is MessageKind.POLICY_CARD:
            person = self.services.policy.person(message.recipient or "")
            if person is not None:
                await self._post(version_id, person, view)
        else:
            await self._update(version_id, view)

    async def _post(self, version_id: int, person: Person, view: ProposalView) -> None:
        svc = self.services
        async with svc.db.reading() as conn:
            existing = {
                ref.platform: ref
                for ref in await policy_cards.refs_for(conn, version_id)
                if ref.person == person.id
            }
        for messenger in self.messengers.values():
            if not messenger.reaches(person):
                continue
            known = existing.get(messenger.platform)
            if known is not None:
                where = PostedCard(known.channel, known.message_id)
                await messenger.update_proposal(person, where, view)
                continue
            try:
                posted = await messenger.post_proposal(person, view)
            except Unreachable:
                log.info("%s has no %s account; policy card skipped", person.id, messenger.platform)
                continue
            ref = PolicyCardRef(
                version_id, person.id, messenger.platform, posted.channel, posted.message_id
            )
            await svc.db.write(partial(policy_cards.save_ref, ref=ref, now=svc.clock.now()))

    async def _update(self, version_id: int, view: ProposalView) -> None:
        async with self.services.db.reading() as conn:
            refs = await policy_cards.refs_for(conn, version_id)
        for ref in refs:
            messenger = self.messengers.get(ref.platform)
            person = self.services.policy.person(ref.person)
            if messenger is not None and person is not None:
                where = PostedCard(ref.channel, ref.message_id)
                await messenger.update_proposal(person, where, view)

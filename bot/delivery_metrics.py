"""Counting chat deliveries by platform and outbox message kind.

The deliverer hands each platform's messenger wrapped in `MeteredMessenger`, and delivers
each message inside `delivering(kind)`: every call on a platform is an attempt there, and a
DeliveryError from it a failure (an Unreachable person is neither: nothing was sent).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from bot.messaging import DeliveryError, Messenger, PostedCard
from bot.metrics import Metrics
from cards.proposal_view import ProposalView
from cards.remediation_view import DigestView, RemediationView
from cards.view import CardView
from policy.model import Person
from storage.outbox import MessageKind

T = TypeVar("T")

_KIND: contextvars.ContextVar[str] = contextvars.ContextVar("delivery_kind", default="other")


@contextlib.contextmanager
def delivering(kind: MessageKind) -> Iterator[None]:
    """Calls on metered messengers inside this block count as deliveries of `kind`."""
    token = _KIND.set(kind.value)
    try:
        yield
    finally:
        _KIND.reset(token)


class MeteredMessenger:
    """A Messenger that counts what goes through it, for `inner`'s platform."""

    def __init__(self, inner: Messenger, metrics: Metrics) -> None:
        self.inner = inner
        self.platform = inner.platform
        self.metrics = metrics

    async def _count(self, call: Callable[[], Awaitable[T]]) -> T:
        kind = _KIND.get()
        self.metrics.deliveries.labels(self.platform, kind).inc()
        try:
            return await call()
        except DeliveryError:
            self.metrics.delivery_failures.labels(self.platform, kind).inc()
            raise

    def reaches(self, person: Person) -> bool:
        return self.inner.reaches(person)

    async def post_card(self, person: Person, view: CardView) -> PostedCard:
        return await self._count(lambda: self.inner.post_card(person, view))

    async def update_card(self, person: Person, where: PostedCard, view: CardView) -> None:
        await self._count(lambda: self.inner.update_card(person, where, view))

    async def notify(self, person: Person, text: str) -> None:
        await self._count(lambda: self.inner.notify(person, text))

    async def post_proposal(self, person: Person, view: ProposalView) -> PostedCard:
        return await self._count(lambda: self.inner.post_proposal(person, view))

    async def update_proposal(self, person: Person, where: PostedCard, view: ProposalView) -> None:
        await self._count(lambda: self.inner.update_proposal(person, where, view))

    async def post_remediation(self, person: Person, view: RemediationView) -> PostedCard:
        return await self._count(lambda: self.inner.post_remediation(person, view))

    async def update_remediation(
        self, person: Person, where: PostedCard, view: RemediationView
    ) -> None:
        await self._count(lambda: self.inner.update_remediation(person, where, view))

    async def post_digest(self, person: Person, view: DigestView) -> None:
        await self._count(lambda: self.inner.post_digest(person, view))


def metered(messengers: list[Messenger], metrics: Metrics | None) -> list[Messenger]:
    if metrics is None:
        return messengers
    return [MeteredMessenger(m, metrics) for m in messengers]

"""The messaging port: what the approval lifecycle needs from a chat platform.

Shaped by the lifecycle, not by any SDK: post a card to a person, update a card where it
already is, send a person a direct message; the same for a policy proposal's card and a
remediation item's; and a person's daily digest. Each
platform adapter implements it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cards.proposal_view import ProposalView
from cards.remediation_view import DigestView, RemediationView
from cards.view import CardView
from policy.model import Person


@dataclass(frozen=True, slots=True)
class PostedCard:
    """Where a posted card lives (Slack: channel + ts; Teams: conversation + activity id)."""

    channel: str
    message_id: str


class DeliveryError(Exception):
    """The platform refused or failed: `retry_after` (seconds) if it said when to try again,
    `permanent` if no retry can help, `status` the HTTP status when there was one."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        self.status = status


class Unreachable(Exception):
    """The platform has no account for this person; the message is skipped there."""


class Messenger(Protocol):
    platform: str

    def reaches(self, person: Person) -> bool:
        """Whether this platform can message `person` (they have an id on it)."""
        ...

    async def post_card(self, person: Person, view: CardView) -> PostedCard: ...

    async def update_card(self, person: Person, where: PostedCard, view: CardView) -> None: ...

    async def notify(self, person: Person, text: str) -> None: ...

    async def post_proposal(self, person: Person, view: ProposalView) -> PostedCard: ...

    async def update_proposal(
        self, person: Person, where: PostedCard, view: ProposalView
    ) -> None: ...

    async def post_remediation(self, person: Person, view: RemediationView) -> PostedCard: ...

    async def update_remediation(
        self, person: Person, where: PostedCard, view: RemediationView
    ) -> None: ...

    async def post_digest(self, person: Person, view: DigestView) -> None: ...

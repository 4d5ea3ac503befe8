"""What a change of a case writes besides its state: audit events and outgoing messages.

Plain data made by the case model (`policy.case`) and stored by `storage.audit` and
`storage.outbox` in the same transaction as the state they describe.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from policy.lifecycle import AuditKind


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit event; seq, hashes and time are assigned when it is appended."""

    actor: str
    action: AuditKind
    case_ref: str | None = None
    step_id: int | None = None
    rationale: str | None = None
    policy_version: str | None = None
    platform: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


class MessageKind(enum.StrEnum):
    POST_CARD = "post_card"  # show a person the case's card (post, or update the one they have)
    UPDATE_CARDS = "update_cards"  # re-render every card of the case where it already is
    NOTIFY = "notify"  # a direct message with text


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    kind: MessageKind
    case_id: int | None = None
    recipient: str | None = None  # person id
    text: str | None = None

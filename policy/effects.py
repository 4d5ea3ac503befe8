"""What a change of a case writes besides its state: audit events and outgoing messages.

Plain data made by the case model (`policy.case`) and stored by `storage.audit` and
`storage.outbox` in the same transaction as the state they describe.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from policy.digest import DigestLine
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
    POLICY_CARD = "policy_card"  # show an admin a policy proposal's card (post, or update it)
    POLICY_UPDATE = "policy_update"  # re-render every card of a policy version where it is
    REMEDIATION_CARD = "rem_card"  # show a person a remediation item's card (post or update)
    REMEDIATION_UPDATE = "rem_update"  # re-render every card of a remediation item
    DIGEST = "digest"  # a person's daily digest (its lines travel with the message)


@dataclass(frozen=True, slots=True)
class Proposal:
    """A policy proposal as it was made: kept with its card messages, so every later render
    shows what was proposed (the version row's reason becomes a rejection's reason) without
    running the backtest again."""

    reason: str
    diff: str
    backtest: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    kind: MessageKind
    case_id: int | None = None
    recipient: str | None = None  # person id
    text: str | None = None  # a policy card's decision line, for POLICY_UPDATE
    policy_version_id: int | None = None  # POLICY_CARD and POLICY_UPDATE
    proposal: Proposal | None = None  # POLICY_CARD
    remediation_id: int | None = None  # REMEDIATION_CARD and REMEDIATION_UPDATE
    digest: tuple[DigestLine, ...] = ()  # DIGEST: what waits, as it was when it was sent

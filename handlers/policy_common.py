"""What the policy commands share: their reply, the audit record (with its messages), the active
version's text, validation by the loader, and the card updates a decision sends."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.context import Actor, Services
from handlers.errors import Conflict, InvalidRequest
from policy.audit_data import AuditData
from policy.effects import AuditEvent, MessageKind, OutgoingMessage
from policy.lifecycle import AuditKind
from policy.loader import PolicyError, parse_policy
from policy.model import Policy
from policy.names import name_of
from storage import audit, outbox
from storage import policy_versions as versions
from storage.database import Unit
from storage.policy_versions import StoredPolicy

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PolicyReply:
    text: str


async def record(
    svc: Services,
    actor: Actor,
    kind: AuditKind,
    *,
    rationale: str | None = None,
    data: AuditData | None = None,
    messages: list[OutgoingMessage] | None = None,
    conn: AsyncConnection | None = None,
) -> None:
    """Enqueue the messages and append the audit event, in `conn`'s transaction or a new one.
    Within a transaction of the caller's, call it last: the append holds the chain lock
    until the commit (`storage.audit`)."""
    event = AuditEvent(
        actor=actor.id,
        action=kind,
        rationale=rationale,
        policy_version=svc.policy.version,
        platform=actor.platform,
        data=(data or AuditData()).to_json() | actor.trace(),
    )
    now = svc.clock.now()
    queued = list(messages or [])

    async def unit(own: AsyncConnection) -> None:
        await outbox.enqueue(own, queued, now)
        await audit.append(own, [event], now)

    if conn is not None:
        await unit(conn)
        return
    await svc.db.write(unit)


async def write_draft(svc: Services, unit: Unit[T]) -> T:
    """Run a unit that saves an admin's draft. The same admin's first draft, started twice at
    once, is inserted once (`uq_policy_versions_one_draft`); the other is told to try again."""
    try:
        return await svc.db.write(unit)
    except IntegrityError:
        raise Conflict("Your draft changed while you were editing it; try again.") from None


async def active_stored(conn: AsyncConnection, policy: Policy) -> StoredPolicy:
    """The active version, which must be the one in force here."""
    stored = await versions.active(conn)
    if stored is None or stored.version != policy.version:
        raise Conflict("The active policy is changing right now; please try again.")
    return stored


def validated(text: str, what: str) -> Policy:
    try:
        return parse_policy(text, what)
    except PolicyError as error:
        problems = "; ".join(
            f"{p.where}: {p.message}" if p.where else p.message for p in error.problems[:5]
        )
        raise InvalidRequest([("policy", problems)]) from None


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def card_update(version: StoredPolicy, decision: str) -> OutgoingMessage:
    """Re-render every card of `version` with its decision line (who decided, and why)."""
    return OutgoingMessage(MessageKind.POLICY_UPDATE, text=decision, policy_version_id=version.id)


def superseded_update(
    policy: Policy, before: StoredPolicy | None, by: str
) -> list[OutgoingMessage]:
    """The card update for the version a new activation supersedes; only versions from chat
    were proposed, so only they have cards."""
    if before is None or before.origin != "chat":
        return []
    if before.approved_by is None:
        return [card_update(before, f"Superseded by {by}.")]
    approver = name_of(policy, before.approved_by)
    return [card_update(before, f"Approved by {approver}; superseded by {by}.")]

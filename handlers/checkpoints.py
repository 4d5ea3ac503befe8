"""Sending the audit chain's head to the auditors, so a witness exists outside the database.

Every auditor (role `auditor` in the policy) gets the checkpoint by direct message; keeping
those messages lets them prove later that no event was cut off the end of the log
(`approvals audit verify --checkpoint FILE`). The sending is itself an audit event, which is
also how replicas agree that today's checkpoint has gone out.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.context import Actor, Services
from policy.audit_data import AuditData
from policy.effects import AuditEvent, MessageKind, OutgoingMessage
from policy.lifecycle import AuditKind
from policy.model import Role
from storage import audit, outbox
from storage.audit_checkpoint import Checkpoint, current
from storage.tables import audit_events

DAILY = timedelta(hours=24)


def auditors(svc: Services) -> tuple[str, ...]:
    return tuple(p.id for p in svc.policy.people.values() if p.has_role(Role.AUDITOR))


def checkpoint_text(checkpoint: Checkpoint) -> str:
    return (
        f"Audit checkpoint: the log holds {checkpoint.seq} events. Keep this message: saved "
        f"as a file, `approvals audit verify --checkpoint FILE` proves later that none was "
        f"removed.\n{checkpoint.to_json()}"
    )


async def send_checkpoint(
    svc: Services, actor: Actor, *, unless_sent_within: timedelta | None = None
) -> Checkpoint | None:
    """Send the current head to every auditor; None if one was sent within the given time
    (so a daily job on several replicas sends one a day), or if there is no auditor."""
    now = svc.clock.now()
    people = auditors(svc)
    if not people:
        return None

    async def unit(conn: AsyncConnection) -> Checkpoint | None:
        # Replicas run this daily job at once: holding the chain from here to the commit makes
        # the second one see the first one's checkpoint and send none.
        await audit.lock_chain(conn)
        if unless_sent_within is not None:
            recent = await conn.scalar(
                select(audit_events.c.seq)
                .where(
                    audit_events.c.action == AuditKind.AUDIT_CHECKPOINT.value,
                    audit_events.c.at > now - unless_sent_within,
                )
                .limit(1)
            )
            if recent is not None:
                return None
        checkpoint = await current(conn)
        data = AuditData(seq=checkpoint.seq, hash=checkpoint.hash, platform_user=None)
        event = AuditEvent(
            actor=actor.id,
            action=AuditKind.AUDIT_CHECKPOINT,
            platform=actor.platform,
            data=data.to_json(),
        )
        await audit.append(conn, [event], now)
        text = checkpoint_text(checkpoint)
        await outbox.enqueue(
            conn,
            [OutgoingMessage(MessageKind.NOTIFY, None, person, text) for person in people],
            now,
        )
        return checkpoint

    return await svc.db.write(unit)

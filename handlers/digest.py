"""Sending the daily digest: once per person per local business day, after its time.

The scheduler calls `send_digests` every sweep; it does nothing until the day's digest time
has passed (`policy.digest.digest_day`), then, in one write transaction, records each
person's digest (`storage.digests`: once per person and day, across replicas) with the
message that carries it, and marks the day's run done so later sweeps cost one read.
`at_once` (`approvals digest --now`) sends it now whatever the time or day, still once per
person per day unless `again`. The digest's lines are what waited when it was sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.context import Actor, Services
from handlers.errors import NotFound
from handlers.queries import case_details, may_view
from handlers.remediation import item_for
from policy.digest import REMEDIATION, DigestLine, digest_day, local_day
from policy.digest_lines import person_digest
from policy.effects import MessageKind, OutgoingMessage
from policy.lifecycle import case_ref
from policy.model import Policy
from storage import case_state, digests, outbox
from storage import remediation as items

DAY_RUN = "system:digest"  # the row that says the day's scheduled run is done


async def send_digests(svc: Services, *, at_once: bool = False, again: bool = False) -> int:
    """Queue the digest of everyone with something waiting who has not had today's; how
    many were queued."""
    policy, now = svc.policy, svc.clock.now()
    day = (
        local_day(policy.calendar, now)
        if at_once
        else digest_day(policy.digest, policy.calendar, now)
    )
    if day is None:
        return 0
    if not at_once:
        async with svc.db.reading() as conn:
            if DAY_RUN in await digests.got_digest(conn, day):
                return 0
    waiting = await _waiting(svc, now)

    async def unit(conn: AsyncConnection) -> int:
        # Once per person and day between replicas: INSERT ... ON CONFLICT DO NOTHING on the
        # (person, day) key (storage.digests); no audit event, so no chain lock.
        if not at_once and not await digests.mark_sent(conn, DAY_RUN, day, now):
            return 0  # another replica ran it meanwhile
        queued = 0
        for person, lines in waiting.items():
            if lines and await digests.mark_sent(conn, person, day, now, again=again):
                digest = OutgoingMessage(MessageKind.DIGEST, recipient=person, digest=lines)
                await outbox.enqueue(conn, [digest], now)
                queued += 1
        return queued

    return await svc.db.write(unit)


async def _waiting(svc: Services, now: datetime) -> dict[str, tuple[DigestLine, ...]]:
    async with svc.db.reading() as conn:
        pending = [
            case
            for case_id in await digests.pending_case_ids(conn)
            if (case := await case_state.load_case(conn, case_id)) is not None
        ]
        open_items = await items.list_items(conn)
    return {
        person: person_digest(svc.policy, person, pending, open_items, now)
        for person in svc.policy.people
    }


async def digested_today(conn: AsyncConnection, policy: Policy, now: datetime) -> frozenset[str]:
    """Who got today's digest (the calendar's day), for the step sweep's reminders."""
    return await digests.got_digest(conn, local_day(policy.calendar, now))


async def open_card(svc: Services, actor: Actor, kind: str, target: int) -> None:
    """A digest's button: post (or update) that case's or item's card to the presser, if
    they may see it."""
    if kind == REMEDIATION:
        item = await item_for(svc, actor.id, target)
        message = OutgoingMessage(
            MessageKind.REMEDIATION_CARD, recipient=actor.id, remediation_id=item.id
        )
    else:
        details = await case_details(svc, target)
        if not may_view(svc.policy, actor.id, details):
            raise NotFound(f"There is no exception {case_ref(target)} that you can see.")
        message = OutgoingMessage(MessageKind.POST_CARD, case_id=target, recipient=actor.id)
    now = svc.clock.now()

    async def unit(conn: AsyncConnection) -> None:
        await outbox.enqueue(conn, [message], now)

    await svc.db.write(unit)

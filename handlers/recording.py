"""What a change of a case writes besides its state, in one place: its audit events, its chat
messages and the webhooks it sends (`policy.webhook_events` says which), all in the
transaction of the change, so none is lost and none goes out for a change that rolled back.

A webhook's body is the case document as the API would return it at this moment, taken on
the same connection after the events are appended: one snapshot per case, then one message
per webhook type, in the order of the events.

Call `record` last in a unit: appending takes the audit chain's lock (`storage.audit`), held
to the commit, so the chat messages are queued first and only what needs the appended events
(the webhooks' case documents) comes after.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.case_document import CaseOut, WebhookEvent, case_out
from handlers.context import Services
from handlers.queries import case_details_in
from policy.effects import AuditEvent, OutgoingMessage
from policy.lifecycle import parse_case_ref
from policy.sources import endpoint_for
from policy.webhook_events import webhooks_of
from storage import audit, outbox, webhooks
from storage.webhooks import NewWebhook


async def record(
    conn: AsyncConnection,
    svc: Services,
    events: Sequence[AuditEvent],
    messages: Sequence[OutgoingMessage],
    now: datetime,
) -> None:
    await outbox.enqueue(conn, list(messages), now)
    await audit.append(conn, list(events), now)
    await webhooks.enqueue(conn, await _webhooks(conn, svc, events, now), now)


async def _webhooks(
    conn: AsyncConnection, svc: Services, events: Sequence[AuditEvent], now: datetime
) -> list[NewWebhook]:
    sources, default_url = svc.policy.sources, svc.default_webhook_url
    if not sources and default_url is None:
        return []  # nowhere to send: not even a snapshot is taken
    snapshots: dict[int, tuple[tuple[str, str] | None, CaseOut]] = {}
    queued = []
    for ref, kind in webhooks_of(events):
        case_id = parse_case_ref(ref)
        if case_id is None:
            continue
        if case_id not in snapshots:
            details = await case_details_in(conn, case_id)
            target = endpoint_for(sources, default_url, details.case.source)
            snapshots[case_id] = target, case_out(details)
        target, document = snapshots[case_id]
        if target is None:
            continue
        body = WebhookEvent(type=kind, timestamp=now, data=document).model_dump_json()
        queued.append(NewWebhook(case_id, target[0], target[1], kind, body))
    return queued

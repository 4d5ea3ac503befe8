"""Which webhooks a change of a case sends: one mapping from the audit events it appends.

A subscriber hears of every change of a case's status (filed, decided, expired, withdrawn,
revoked, reopened), of amendments and of questions to the requester; steps, votes, reminders
and comments are the bot's own business and send nothing. A filing that policy decides at
once appends `case.filed` and then `case.approved`, so it sends filed, then approved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, get_args

from policy.effects import AuditEvent
from policy.lifecycle import AuditKind

WebhookType = Literal[
    "exception.filed",
    "exception.approved",
    "exception.rejected",
    "exception.expired",
    "exception.withdrawn",
    "exception.revoked",
    "exception.amended",
    "exception.reopened",
    "exception.info_requested",
]
WEBHOOK_TYPES: tuple[WebhookType, ...] = get_args(WebhookType)

SENDS: Mapping[AuditKind, WebhookType] = {
    AuditKind.CASE_FILED: "exception.filed",
    AuditKind.CASE_APPROVED: "exception.approved",
    AuditKind.CASE_REJECTED: "exception.rejected",
    AuditKind.CASE_EXPIRED: "exception.expired",
    AuditKind.CASE_WITHDRAWN: "exception.withdrawn",
    AuditKind.CASE_REVOKED: "exception.revoked",
    AuditKind.CASE_AMENDED: "exception.amended",
    AuditKind.CASE_REOPENED: "exception.reopened",
    AuditKind.INFO_REQUESTED: "exception.info_requested",
}


def webhooks_of(events: Iterable[AuditEvent]) -> list[tuple[str, WebhookType]]:
    """(case ref, webhook type) for each case and type the events announce, once each, in
    the order of the first event of that type."""
    seen: dict[tuple[str, WebhookType], None] = {}
    for event in events:
        kind = SENDS.get(event.action)
        if kind is not None and event.case_ref is not None:
            seen.setdefault((event.case_ref, kind), None)
    return list(seen)

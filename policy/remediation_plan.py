"""A remediation item's life (pure): opened, acknowledged, reminded, escalated, closed.

Its clock is a step's (`policy.overdue`), as if it were a tier with the remediation's `sla`,
`remind_every` and `escalate_after`: ticks every `remind_every` of business time from the
opening remind the owner, the tick after `escalate_after` reminders goes to the owner's
manager instead, and at the SLA an item not yet escalated is escalated. Reminders go on after
that until the item is closed (acknowledging it says someone is on it; it is still due).
Every change is an audit event under the item's ref and updates its cards in place.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from policy.actor import POLICY, SCHEDULER, Actor
from policy.audit_data import AuditData
from policy.calendar import Calendar
from policy.effects import AuditEvent, MessageKind, OutgoingMessage
from policy.lifecycle import AuditKind
from policy.model import ApprovalMode, Policy, Remediation, Tier
from policy.names import at_text, name_of
from policy.overdue import (
    Due,
    Schedule,
    after_waiting,
    next_action,
    opening_schedule,
    tick_after,
    what_is_due,
)
from policy.remediation import Evidence, ItemStatus, item_ref, manager_of


@dataclass(frozen=True, slots=True)
class RemediationItem:
    id: int
    code: str
    per_field: str | None
    per_value: str | None
    owner: str
    status: ItemStatus
    opened_at: datetime
    due_at: datetime
    evidence: Evidence
    next_action_at: datetime | None = None
    reminders_sent: int = 0
    escalated_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    root_cause: str | None = None
    version: int = 1

    @property
    def ref(self) -> str:
        return item_ref(self.id)

    @property
    def what(self) -> str:
        """`REM-000001 (PRICE_MISMATCH, supplier Acme: 5 cases)` for messages."""
        key = f", {self.per_field.replace('_', ' ')} {self.per_value}" if self.per_field else ""
        return f"{self.ref} ({self.code}{key}: {len(self.evidence.cases)} cases)"


@dataclass(frozen=True, slots=True)
class ItemChange:
    item: RemediationItem
    events: tuple[AuditEvent, ...] = ()
    messages: tuple[OutgoingMessage, ...] = ()


def plan(rule: Remediation) -> Tier:
    """The remediation's clock as a tier, for `policy.overdue`."""
    return Tier(
        id="remediation",
        approvers=(),
        mode=ApprovalMode.any(),
        sla=rule.sla,
        remind_every=rule.remind_every,
        escalate_after=rule.escalate_after,
    )


def schedule(rule: Remediation, calendar: Calendar | None, opened: datetime) -> Schedule:
    return opening_schedule(plan(rule), calendar, opened)


def _event(
    item: RemediationItem,
    actor: Actor,
    kind: AuditKind,
    data: AuditData,
    rationale: str | None = None,
) -> AuditEvent:
    """An event under the item's ref; its data always names the code."""
    return AuditEvent(
        actor=actor.id,
        action=kind,
        case_ref=item.ref,
        rationale=rationale,
        platform=actor.platform,
        data={**data.to_json(), "code": item.code},
    )


def _card(item: RemediationItem, person: str) -> OutgoingMessage:
    return OutgoingMessage(MessageKind.REMEDIATION_CARD, recipient=person, remediation_id=item.id)


def _update(item: RemediationItem) -> OutgoingMessage:
    return OutgoingMessage(MessageKind.REMEDIATION_UPDATE, remediation_id=item.id)


def _note(person: str, text: str) -> OutgoingMessage:
    return OutgoingMessage(MessageKind.NOTIFY, recipient=person, text=text)


def opened(policy: Policy, item: RemediationItem) -> ItemChange:
    """What an item just stored writes: its audit event, and its card to the owner."""
    event = _event(
        item,
        POLICY,
        AuditKind.REMEDIATION_OPENED,
        AuditData(
            per_field=item.per_field,
            per_value=item.per_value,
            owner=item.owner,
            due_at=item.due_at.isoformat(),
            evidence=item.evidence.to_json(),
        ),
    )
    text = (
        f"{item.what} opened for you: the code keeps coming back. Find the root cause, fix "
        f"it and close the item by {at_text(item.due_at)}."
    )
    return ItemChange(item, (event,), (_card(item, item.owner), _note(item.owner, text)))


def acknowledge(policy: Policy, item: RemediationItem, actor: Actor, now: datetime) -> ItemChange:
    after = dataclasses.replace(
        item, status=ItemStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=actor.id
    )
    event = _event(after, actor, AuditKind.REMEDIATION_ACKNOWLEDGED, AuditData(owner=item.owner))
    told = [] if actor.id == item.owner else [_note(item.owner, _by(policy, actor, after, "ack"))]
    return ItemChange(after, (event,), (_update(after), *told))


def close(
    policy: Policy, item: RemediationItem, actor: Actor, root_cause: str, now: datetime
) -> ItemChange:
    """Closed with its root cause and fix (checked by `policy.remediation.close_problem`)."""
    after = dataclasses.replace(
        item,
        status=ItemStatus.CLOSED,
        closed_at=now,
        closed_by=actor.id,
        root_cause=root_cause,
        next_action_at=None,
    )
    closed = AuditData(owner=item.owner)
    event = _event(after, actor, AuditKind.REMEDIATION_CLOSED, closed, rationale=root_cause)
    manager = manager_of(policy, item.owner)
    told = {item.owner, *([manager] if manager and item.escalated_at else [])} - {actor.id}
    text = _by(policy, actor, after, "close")
    return ItemChange(after, (event,), (_update(after), *(_note(p, text) for p in sorted(told))))


def _by(policy: Policy, actor: Actor, item: RemediationItem, what: str) -> str:
    who = name_of(policy, actor.id)
    if what == "ack":
        return f"{who} acknowledged {item.what}."
    return f"{who} closed {item.what}: {item.root_cause}"


def due(policy: Policy, rule: Remediation, item: RemediationItem, now: datetime) -> ItemChange:
    """What the sweep does for an open item whose `next_action_at` has passed."""
    tier, calendar = plan(rule), policy.calendar
    past_due = now >= item.due_at
    escalated = item.escalated_at is not None
    if past_due and not escalated:
        return _escalate(policy, rule, item, now, overdue=True)
    found = what_is_due(
        tier,
        calendar,
        now,
        due_at=None if past_due else item.due_at,
        reminders_sent=item.reminders_sent,
        escalated=escalated,
    )
    if found is Due.ESCALATE:
        return _escalate(policy, rule, item, now, overdue=False)
    if found is Due.REMIND:
        return _remind(policy, rule, item, now)
    if found is Due.WAIT:
        wake = after_waiting(calendar, now, None if past_due else item.due_at)
        return ItemChange(dataclasses.replace(item, next_action_at=wake))
    return ItemChange(
        dataclasses.replace(item, next_action_at=_next_wake(rule, item, now, calendar))
    )


def _next_wake(
    rule: Remediation, item: RemediationItem, now: datetime, calendar: Calendar | None
) -> datetime | None:
    due_at = item.due_at if now < item.due_at else None
    return next_action(due_at, tick_after(plan(rule), calendar, item.opened_at, now))


def _remind(
    policy: Policy, rule: Remediation, item: RemediationItem, now: datetime, note: str | None = None
) -> ItemChange:
    number = item.reminders_sent + 1
    after = dataclasses.replace(
        item,
        reminders_sent=number,
        next_action_at=_next_wake(rule, item, now, policy.calendar),
        # a note: nobody to escalate to; counted as escalated so the plan moves on
        escalated_at=now if note else item.escalated_at,
    )
    reminded = AuditData(reminder=number, note=note)
    event = _event(after, SCHEDULER, AuditKind.REMEDIATION_REMINDED, reminded)
    late = "was due" if now >= item.due_at else "is due"
    text = (
        f"Reminder: {item.what} is waiting for its root cause and fix; it {late} "
        f"{at_text(item.due_at)}. Type /approvals remediation show {item.ref} to see it."
    )
    return ItemChange(after, (event,), (_note(item.owner, text), _update(after)))


def _escalate(
    policy: Policy, rule: Remediation, item: RemediationItem, now: datetime, *, overdue: bool
) -> ItemChange:
    manager = manager_of(policy, item.owner)
    if manager is None:  # nobody above the owner: keep reminding them
        return _remind(policy, rule, item, now, note="the owner has no manager to escalate to")
    after = dataclasses.replace(
        item, escalated_at=now, next_action_at=_next_wake(rule, item, now, policy.calendar)
    )
    count = item.reminders_sent
    event = _event(
        after,
        SCHEDULER,
        AuditKind.REMEDIATION_ESCALATED,
        AuditData(
            managers=(manager,), after_reminders=count, note="past its SLA" if overdue else None
        ),
    )
    why = f"was due {at_text(item.due_at)}" if overdue else f"had {count} reminders"
    owner_name = name_of(policy, item.owner)
    messages = (
        _card(after, manager),
        _note(
            manager,
            f"{item.what}, owned by {owner_name}, is not closed and {why}. As their manager "
            "you may acknowledge or close it.",
        ),
        _note(item.owner, f"{item.what} {why}, so it was escalated to {name_of(policy, manager)}."),
        _update(after),
    )
    return ItemChange(after, (event,), messages)


def refusal(item: RemediationItem, actor: Actor, attempted: str, reason: str) -> AuditEvent:
    """The audit event of a refused acknowledge or close."""
    refused = AuditData(attempted=attempted, reason=reason)
    return _event(item, actor, AuditKind.REMEDIATION_REFUSED, refused)

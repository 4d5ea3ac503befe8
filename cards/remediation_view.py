"""The views of a remediation item's card and of a person's daily digest: what every platform
shows, already worded, built from the stored item (pure).

The item's card goes to the code's owner (and to their manager on escalation). While it is open
it has Acknowledge and Close; acknowledged, only Close; closed, none, and it shows the root
cause and fix. The digest has one line per waiting case or item, oldest first, each with a
button that shows that card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cards import actions
from cards.view import Button
from policy.digest import DigestLine
from policy.model import Policy
from policy.names import at_text, name_of
from policy.remediation import ItemStatus, manager_of
from policy.remediation_plan import RemediationItem

SHOWN_CASES = 20  # case refs on a card; the audit event keeps them all


@dataclass(frozen=True, slots=True)
class RemediationView:
    ref: str
    code: str
    code_title: str
    owner: str  # the owner's name
    status: str  # open | acknowledged | closed
    key: str | None  # "supplier Acme", "cost center CC-100"; None: the code alone
    opened: str
    due: str
    overdue: bool
    cases: tuple[str, ...]
    cases_omitted: int
    suppliers: tuple[str, ...]
    cost_centers: tuple[str, ...]
    leakage: tuple[str, ...]  # "EUR 12,000.00" per currency
    playbook: str | None
    acknowledged: str | None = None  # "by Lee Park at ..."
    escalated: str | None = None  # "to Maria Finance at ..."
    closed: str | None = None  # "by Lee Park at ..."
    root_cause: str | None = None
    buttons: tuple[Button, ...] = ()
    notice: str | None = None  # the answer to a press, shown on the card (Teams)

    @property
    def headline(self) -> str:
        key = f", {self.key}" if self.key else ""
        count = len(self.cases) + self.cases_omitted
        return f"{self.ref}: remediate {self.code}{key} ({count} cases, {self.status})"


def build_remediation_view(policy: Policy, item: RemediationItem, now: datetime) -> RemediationView:
    evidence = item.evidence
    entry = policy.taxonomy.get(item.code)
    value = actions.remediation_button_value(item.id)
    buttons: tuple[Button, ...] = ()
    if item.status is ItemStatus.OPEN:
        buttons = (Button(actions.REMEDIATION_ACK, "Acknowledge", value, "primary"),)
    if item.status is not ItemStatus.CLOSED:
        buttons += (Button(actions.REMEDIATION_CLOSE, "Close with root cause", value),)
    manager = manager_of(policy, item.owner)
    return RemediationView(
        ref=item.ref,
        code=item.code,
        code_title=entry.title if entry is not None else item.code,
        owner=name_of(policy, item.owner),
        status=item.status.value,
        key=f"{item.per_field.replace('_', ' ')} {item.per_value}" if item.per_field else None,
        opened=at_text(item.opened_at),
        due=at_text(item.due_at),
        overdue=item.status is not ItemStatus.CLOSED and now >= item.due_at,
        cases=evidence.cases[:SHOWN_CASES],
        cases_omitted=max(0, len(evidence.cases) - SHOWN_CASES),
        suppliers=evidence.suppliers,
        cost_centers=evidence.cost_centers,
        leakage=tuple(f"{cur} {total:,.2f}" for cur, total in evidence.leakage.items()),
        playbook=evidence.playbook,
        acknowledged=_by(policy, item.acknowledged_by, item.acknowledged_at),
        escalated=f"to {name_of(policy, manager)} at {at_text(item.escalated_at)}"
        if manager and item.escalated_at
        else None,
        closed=_by(policy, item.closed_by, item.closed_at),
        root_cause=item.root_cause,
        buttons=buttons,
    )


def _by(policy: Policy, person: str | None, at: datetime | None) -> str | None:
    if person is None or at is None:
        return None
    return f"by {name_of(policy, person)} at {at_text(at)}"


@dataclass(frozen=True, slots=True)
class DigestEntry:
    ref: str
    title: str
    since: str
    due: str | None
    overdue: bool
    button: Button


@dataclass(frozen=True, slots=True)
class DigestView:
    person: str  # their name
    entries: tuple[DigestEntry, ...]

    @property
    def headline(self) -> str:
        count = len(self.entries)
        late = sum(1 for e in self.entries if e.overdue)
        overdue = f" ({late} overdue)" if late else ""
        return f"Good morning {self.person}: {count} waiting for you{overdue}, oldest first."


def build_digest_view(policy: Policy, person: str, lines: Sequence[DigestLine]) -> DigestView:
    return DigestView(
        person=name_of(policy, person),
        entries=tuple(
            DigestEntry(
                ref=line.ref,
                title=line.title,
                since=at_text(line.since),
                due=None if line.due_at is None else at_text(line.due_at),
                overdue=line.overdue,
                button=Button(
                    actions.DIGEST_OPEN,
                    f"Open {line.ref}",
                    actions.open_button_value(line.kind, line.target),
                ),
            )
            for line in lines
        ),
    )

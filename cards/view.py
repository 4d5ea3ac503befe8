"""The card view: everything an approval card shows, already worded, for any platform."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class RuleLine:
    """A rule that fired: its policy reference, a link to it, and why it fired."""

    ref: str
    url: str | None
    why: str


@dataclass(frozen=True, slots=True)
class Link:
    """An evidence link the request carried (a quote, a contract, an invoice scan)."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class StepLine:
    tier: str
    status: str  # waiting | open | approved | rejected | cancelled
    summary: str  # "approved by Lee Park at 2026-03-02 09:14 UTC", "waiting for Dana Reyes"


@dataclass(frozen=True, slots=True)
class HistoryLine:
    at: str
    text: str


@dataclass(frozen=True, slots=True)
class Button:
    action_id: str  # one of cards.actions
    label: str
    value: str  # cards.actions.button_value(case_id, step_id)
    style: str | None = None  # "primary" | "danger" | None


@dataclass(frozen=True, slots=True)
class CardView:
    case_ref: str
    title: str
    status: str  # pending | approved | rejected | withdrawn | expired | revoked
    headline: str  # one line for notifications and screen readers
    exception_title: str
    facts: tuple[Fact, ...]
    references: tuple[Fact, ...] = ()
    rules: tuple[RuleLine, ...] = ()
    flags: tuple[str, ...] = ()
    route: tuple[StepLine, ...] = ()
    due: str | None = None
    history: tuple[HistoryLine, ...] = ()
    # Reminders, escalations and reassignments: the part of the history about delay.
    escalations: tuple[HistoryLine, ...] = ()
    buttons: tuple[Button, ...] = field(default=())
    playbook: str | None = None
    notice: str | None = None  # e.g. "Policy requires a rationale to approve."
    # The latest amendment from the source: what changed, by whom, when, and whether the
    # approvals given before still stand.
    amended: str | None = None
    owner: str | None = None  # who owns the exception code (answers questions about it)
    # The decision next to the status of a decided case: "Rejected by Lee Park: why".
    decision: str | None = None
    # What policy did not do: rules skipped for missing data, a withheld auto-approval, a
    # case routed by the default route because no rule fired.
    policy_notes: tuple[str, ...] = ()
    case_due: str | None = None  # the exception code's SLA for the whole case
    overdue: bool = False  # past case_due and still pending
    attachments: tuple[Link, ...] = ()

    @property
    def is_final(self) -> bool:
        return self.status != "pending"

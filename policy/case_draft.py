"""A change in the making: the case as it will be, with the events and messages it writes.

Transitions (`policy.case_flow`, `policy.case_changes`, `policy.case_overdue`) edit a Draft
and finish it into a `Change`. Every change bumps the case's version, which is what storage
compares-and-sets on, so two changes made from the same state cannot both be saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from policy.actor import Actor
from policy.case import Case
from policy.case_records import DecisionRecord, StepRecord
from policy.effects import AuditEvent, MessageKind, OutgoingMessage
from policy.lifecycle import AuditKind
from policy.model import Policy


@dataclass(frozen=True, slots=True)
class Change:
    """What a transition did: the new case, and what to write with it, in one transaction."""

    case: Case
    events: tuple[AuditEvent, ...] = ()
    messages: tuple[OutgoingMessage, ...] = ()
    note: str = ""  # what to tell the person who acted
    refused: bool = False  # a refusal for the record: the events are written, then it is refused


class Draft:
    def __init__(self, case: Case, policy: Policy, now: datetime) -> None:
        self.policy = policy
        self.now = now
        self.record = case.record
        self.steps = list(case.steps)
        self.votes = list(case.votes)
        self.events: list[AuditEvent] = []
        self.messages: list[OutgoingMessage] = []

    @property
    def case(self) -> Case:
        return Case(self.record, tuple(self.steps), tuple(self.votes))

    def step(self, step_id: int) -> StepRecord:
        return next(s for s in self.steps if s.id == step_id)

    def set_step(self, step: StepRecord, **changes: Any) -> StepRecord:
        current = self.step(step.id)
        updated = replace(current, version=current.version + 1, **changes)
        self.steps = [updated if s.id == step.id else s for s in self.steps]
        return updated

    def set_case(self, **changes: Any) -> None:
        self.record = replace(self.record, **changes)

    def add_vote(self, vote: DecisionRecord) -> None:
        self.votes.append(vote)

    # --- what it writes -------------------------------------------------------------------

    def event(
        self,
        actor: Actor,
        kind: AuditKind,
        step: StepRecord | None = None,
        rationale: str | None = None,
        **data: Any,
    ) -> None:
        if step is not None:
            data = {"tier": step.tier, **data}
        self.events.append(
            AuditEvent(
                actor=actor.id,
                action=kind,
                case_ref=self.record.ref,
                step_id=step.id if step is not None else None,
                rationale=rationale,
                policy_version=step.policy_version
                if step is not None
                else self.record.policy_version,
                platform=actor.platform,
                data={**data, **actor.trace()},
            )
        )

    def notify(self, people: Iterable[str], text: str) -> None:
        for person in dict.fromkeys(people):
            self.messages.append(OutgoingMessage(MessageKind.NOTIFY, self.record.id, person, text))

    def cards(self, people: Iterable[str]) -> None:
        """Post the case's card to each person (once each, in this change)."""
        posted = {m.recipient for m in self.messages if m.kind is MessageKind.POST_CARD}
        for person in dict.fromkeys(people):
            if person not in posted:
                self.messages.append(OutgoingMessage(MessageKind.POST_CARD, self.record.id, person))

    def update_cards(self) -> None:
        if not any(m.kind is MessageKind.UPDATE_CARDS for m in self.messages):
            self.messages.append(OutgoingMessage(MessageKind.UPDATE_CARDS, self.record.id))

    def finish(self, note: str = "") -> Change:
        """The change, with the case's version moved on (storage compares and sets it)."""
        self.record = replace(self.record, version=self.record.version + 1, updated_at=self.now)
        return Change(self.case, tuple(self.events), tuple(self.messages), note)

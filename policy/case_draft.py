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
from policy.audit_data import AuditData
from policy.case import Case
from policy.case_records import DecisionRecord, StepRecord
from policy.effects import AuditEvent, MessageKind, OutgoingMessage
from policy.lifecycle import Action, AuditKind
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

    def add_vote(
        self,
        step: StepRecord,
        actor: Actor,
        action: Action,
        rationale: str | None,
        on_behalf_of: str | None = None,
    ) -> None:
        """A vote on `step`, written by storage (its id is 0 until then)."""
        self.votes.append(
            DecisionRecord(
                id=0,
                case_id=self.record.id,
                step_id=step.id,
                person=actor.id,
                on_behalf_of=on_behalf_of,
                action=action,
                rationale=rationale,
                platform=actor.platform,
                at=self.now,
            )
        )

    # --- what it writes -------------------------------------------------------------------

    def event(
        self,
        actor: Actor,
        kind: AuditKind,
        step: StepRecord | None = None,
        rationale: str | None = None,
        data: AuditData | None = None,
    ) -> None:
        facts = replace(
            data or AuditData(),
            tier=step.tier if step is not None else None,
            platform_user=actor.platform_user,
        )
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
                data=facts.to_json(),
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

    def ordered_messages(self) -> tuple[OutgoingMessage, ...]:
        """The messages, with the update of existing cards before any new card is posted:
        a card posted in this change already shows its state, so updating it right after
        would show the same card twice."""
        messages = list(self.messages)
        update = next((m for m in messages if m.kind is MessageKind.UPDATE_CARDS), None)
        first_post = next(
            (i for i, m in enumerate(messages) if m.kind is MessageKind.POST_CARD), None
        )
        if update is not None and first_post is not None and messages.index(update) > first_post:
            messages.remove(update)
            messages.insert(first_post, update)
        return tuple(messages)

    def finish(self, note: str = "") -> Change:
        """The change, with the case's version moved on (storage compares and sets it)."""
        self.record = replace(self.record, version=self.record.version + 1, updated_at=self.now)
        return Change(self.case, tuple(self.events), self.ordered_messages(), note)

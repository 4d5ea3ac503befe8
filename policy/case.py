"""The case aggregate: a case with its steps and votes, and every question the edges ask of it.

Pure: built from stored records, answering from them alone. Each rule lives in one method
here; handlers, cards and adapters all ask the same one:

- who has voted on a step (`voted`), who may not decide it (`barred`), who is still awaited
  (`awaited`), how many approvals are still needed (`still_needed`);
- whether an actor may take an action on the case now, on whose behalf, and whether they must
  give a rationale (`may_act`), and likewise for answering, commenting, withdrawing, revoking
  and handing a step on.

Changes are made by the transitions in `policy.case_flow`, `policy.case_changes` and
`policy.case_overdue`, which return a new `Case` with the audit events and messages to write.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from policy.actor import INTAKE_PREFIX
from policy.case_records import CaseRecord, DecisionRecord, StepRecord
from policy.lifecycle import Action, CaseStatus, StepStatus
from policy.model import Policy, Role
from policy.names import at_text, name_of, names_of
from policy.roles import Need, role_problem
from policy.routing import escalation_managers

DECIDING = (Action.APPROVE, Action.REJECT)
PRESSABLE = (Action.APPROVE, Action.REJECT, Action.REQUEST_INFO)


class Verdict(enum.StrEnum):
    ALLOWED = "allowed"
    REFUSED = "refused"  # this person may not: segregation of duties, not an approver (audited)
    CLOSED = "closed"  # nobody may: the case is final, or the card shows a step no longer open


@dataclass(frozen=True, slots=True)
class Permission:
    verdict: Verdict
    reason: str | None = None  # why not, for the person refused
    on_behalf_of: str | None = None  # the approver a delegate or a manager acts for
    as_manager: bool = False  # a manager deciding an escalated step for an approver
    rationale_prompt: str | None = None  # set when this action needs a rationale: what to ask

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOWED

    @property
    def rationale_required(self) -> bool:
        return self.rationale_prompt is not None


def _refuse(reason: str) -> Permission:
    return Permission(Verdict.REFUSED, reason)


def _closed(reason: str) -> Permission:
    return Permission(Verdict.CLOSED, reason)


ALLOWED = Permission(Verdict.ALLOWED)


@dataclass(frozen=True, slots=True)
class Case:
    record: CaseRecord
    steps: tuple[StepRecord, ...]
    votes: tuple[DecisionRecord, ...]

    # --- facts ------------------------------------------------------------------------

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def ref(self) -> str:
        return self.record.ref

    @property
    def requester(self) -> str:
        return self.record.requester

    @property
    def status(self) -> CaseStatus:
        return self.record.status

    @property
    def what(self) -> str:
        """How messages name the case: `EXC-000123 (Laptops from a new reseller)`."""
        return f"{self.record.ref} ({self.record.title})"

    @property
    def current_step(self) -> StepRecord | None:
        """The step the case waits on (open, or paused for an answer), if any."""
        return next((s for s in self.steps if s.status.is_current), None)

    def step(self, step_id: int) -> StepRecord | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def votes_on(self, step: StepRecord) -> tuple[DecisionRecord, ...]:
        return tuple(v for v in self.votes if v.step_id == step.id)

    def voted(self, step: StepRecord) -> frozenset[str]:
        """Who has voted on `step`; a vote cast on someone's behalf counts as theirs too."""
        return frozenset(
            p for v in self.votes_on(step) for p in (v.person, v.on_behalf_of) if p is not None
        )

    def vote_of(self, person: str, step: StepRecord) -> DecisionRecord | None:
        """`person`'s vote on `step` (cast by them, or on their behalf)."""
        return next((v for v in self.votes_on(step) if person in (v.person, v.on_behalf_of)), None)

    def approvals(self, step: StepRecord) -> int:
        return sum(1 for v in self.votes_on(step) if v.action is Action.APPROVE)

    def still_needed(self, step: StepRecord) -> int:
        return max(step.required - self.approvals(step), 0)

    def deciders(self, exclude: StepRecord | None = None) -> frozenset[str]:
        """Everyone who approved or rejected a step of the case (but `exclude`, and steps a
        material amendment superseded), and those they acted for."""
        skip = exclude.id if exclude is not None else None
        void = {s.id for s in self.steps if s.status is StepStatus.SUPERSEDED}
        return frozenset(
            p
            for v in self.votes
            if v.step_id != skip and v.step_id not in void and v.action in DECIDING
            for p in (v.person, v.on_behalf_of)
            if p is not None
        )

    def barred(self, step: StepRecord) -> frozenset[str]:
        """Who may not decide `step`: the requester, anyone who decided another step of the
        case, anyone who voted on it already, and anyone who had it and let it time out."""
        return (
            self.deciders(exclude=step)
            | self.voted(step)
            | {self.requester}
            | frozenset(step.former_approvers)
        )

    def awaited(self, step: StepRecord) -> tuple[str, ...]:
        """The approvers of `step` who have not voted on it, in route order."""
        voted = self.voted(step)
        return tuple(a for a in step.approvers if a not in voted)

    def escalation_managers(self, policy: Policy, step: StepRecord) -> tuple[str, ...]:
        """Whom an overdue step escalates to: the awaited approvers' nearest managers who may
        decide (never barred, never on the step already)."""
        return escalation_managers(policy, self.awaited(step), self.barred(step))

    def last_decision(self, step: StepRecord | None = None) -> DecisionRecord | None:
        decisive = [
            v for v in self.votes if v.action in DECIDING and (step is None or v.step_id == step.id)
        ]
        return decisive[-1] if decisive else None

    def is_overdue(self, now: datetime) -> bool:
        """Past the taxonomy code's SLA for the case, and still pending."""
        due = self.record.due_at
        return self.status is CaseStatus.PENDING and due is not None and now >= due

    # --- who may do what ----------------------------------------------------------------

    def may_act(
        self, policy: Policy, actor: str, action: Action, step_id: int | None = None
    ) -> Permission:
        """May `actor` approve, reject or ask for information on the case's current step?

        `step_id` is the step the card showed: a press on a step that is no longer current
        is refused as out of date instead of landing on a later step.
        """
        if self.status.is_final:
            return _closed(self.already_final(policy))
        step = self.current_step
        if step is None:
            return _closed(f"{self.ref} has no step waiting for a decision.")
        if step_id is not None and step_id != step.id:
            return _closed(self.stale(policy, step_id))
        if action not in PRESSABLE:
            return _refuse(f"{action.value} is not something a card can do.")
        who = self._who(policy, actor, step)
        if not who.allowed:
            return who
        return replace(who, rationale_prompt=self._rationale_prompt(policy, action, who))

    def _who(self, policy: Policy, actor: str, step: StepRecord) -> Permission:
        if actor == self.requester:
            return _refuse(
                "You filed this exception, so you cannot decide it (segregation of duties)."
            )
        if actor in self.deciders(exclude=step):
            return _refuse(
                "You already decided another step of this exception, so someone else must "
                "decide this one (segregation of duties)."
            )
        mine = self.vote_of(actor, step)
        if mine is not None:
            verb = "approved" if mine.action is Action.APPROVE else "rejected"
            return _refuse(
                f"You already {verb} this step at {at_text(mine.at)}; "
                f"{self.awaiting_text(policy, step)}."
            )
        if actor in step.approvers:
            return ALLOWED
        barred = self.barred(step)
        principals = [a for a in step.approvers if _delegate(policy, a) == actor]
        for principal in principals:
            if principal not in barred and actor not in barred:
                return Permission(Verdict.ALLOWED, on_behalf_of=principal)
        if principals:
            return _refuse(
                f"You stand in for {name_of(policy, principals[0])}, who cannot decide this "
                "step (segregation of duties), so you cannot decide it either."
            )
        if step.escalated and actor not in barred:
            for approver in self.awaited(step):
                if actor in escalation_managers(policy, (approver,), barred | set(step.approvers)):
                    return Permission(Verdict.ALLOWED, on_behalf_of=approver, as_manager=True)
        if not step.approvers:
            return _refuse("Nobody is assigned to this step yet; an admin will reassign it.")
        names = names_of(policy, step.approvers)
        return _refuse(f"You are not an approver of this step. Its approvers are: {names}.")

    def _rationale_prompt(self, policy: Policy, action: Action, who: Permission) -> str | None:
        if who.as_manager:
            return (
                f"You are deciding {self.ref} on behalf of "
                f"{name_of(policy, who.on_behalf_of or '')} as their manager: say why."
            )
        if action is Action.REJECT:
            return "A rejection needs a rationale: say why."
        if action is Action.REQUEST_INFO:
            return "Say what information you need from the requester."
        if self.record.rationale_required:
            return f"Policy requires a rationale to approve {self.ref}: say why it is justified."
        return None

    def may_press(self, policy: Policy, viewer: str) -> Permission:
        """May `viewer` press the buttons of the current step (approving, say)?"""
        return self.may_act(policy, viewer, Action.APPROVE)

    def may_answer(self, actor: str) -> Permission:
        """Only the requester answers a request for information, while the step waits for it."""
        if actor != self.requester:
            return _refuse(f"Only the person who filed {self.ref} can answer its questions.")
        step = self.current_step
        if self.status.is_final or step is None or step.status is not StepStatus.INFO_REQUESTED:
            return _closed(
                f"Nobody is waiting for an answer on {self.ref}; "
                f"to add a note, use /exception comment {self.ref} text."
            )
        return ALLOWED

    def filed_by(self, actor: str) -> bool:
        """Is `actor` the source system that filed the case through the intake API?"""
        source = self.record.source
        return source is not None and actor == f"{INTAKE_PREFIX}{source}"

    def may_comment(self, policy: Policy, actor: str) -> Permission:
        """The requester, anyone on the route, admins and the source that filed it may
        comment."""
        involved = {self.requester} | {p for s in self.steps for p in s.approvers}
        if actor in involved or _has_role(policy, actor, Role.ADMIN) or self.filed_by(actor):
            return ALLOWED
        if actor.startswith(INTAKE_PREFIX):
            return _refuse(self._other_source(actor, "comment on"))
        return _refuse(f"Only the requester, the approvers and admins can comment on {self.ref}.")

    def may_withdraw(self, actor: str) -> Permission:
        """The requester, or the source system that filed the case (its PO was cancelled)."""
        if actor.startswith(INTAKE_PREFIX) and not self.filed_by(actor):
            return _refuse(self._other_source(actor, "withdraw"))
        if actor != self.requester and not self.filed_by(actor):
            return _refuse("Only the person who filed this exception can withdraw it.")
        if self.status is not CaseStatus.PENDING:
            return _closed(
                f"{self.ref} is {self.status.value}; only pending cases can be withdrawn."
            )
        return ALLOWED

    def _other_source(self, actor: str, verb: str) -> str:
        source = self.record.source
        filed = f"was filed by the source {source!r}" if source else "was not filed by a source"
        return (
            f"{self.ref} {filed}; the source {actor.removeprefix(INTAKE_PREFIX)!r} cannot "
            f"{verb} it."
        )

    def may_revoke(self, policy: Policy, actor: str) -> Permission:
        """Revoking a decision is for admins: never the requester, never someone who decided
        a step of the case (nobody reviews their own decision)."""
        if actor == self.requester:
            return _refuse(
                "You filed this exception, so you cannot revoke its decision "
                "(segregation of duties)."
            )
        if not _has_role(policy, actor, Role.ADMIN):
            return _refuse("Only a policy admin can revoke a decision, and you are not one.")
        if actor in self.deciders():
            return _refuse(
                "You decided a step of this exception, so another admin must revoke it "
                "(segregation of duties)."
            )
        if self.status not in (CaseStatus.APPROVED, CaseStatus.REJECTED):
            return _closed(
                f"{self.ref} is {self.status.value}; only approved or rejected cases can be "
                "revoked."
            )
        return ALLOWED

    def place_to_move(self, policy: Policy, actor: str, place: str | None) -> str | None:
        """Whose place on the current step a reassignment by `actor` moves: the one named;
        else the actor's own; else, for an admin, the one approver still awaited."""
        step = self.current_step
        if place is not None or step is None:
            return place
        if actor in step.approvers:
            return actor
        awaited = self.awaited(step)
        if role_problem(policy, actor, Need.CHANGE) is None and len(awaited) == 1:
            return awaited[0]
        return None

    def may_hand_over(
        self, policy: Policy, actor: str, target: str, place: str | None = None
    ) -> Permission:
        """May `actor` hand `place` (their own place, by default) on the current step to
        `target`? Approvers hand on their own place; admins may move anyone's."""
        step = self.current_step
        if self.status.is_final or step is None:
            return _closed(f"{self.ref} is {self.status.value}; there is no step to hand on.")
        owner = self.place_to_move(policy, actor, place)
        admin = role_problem(policy, actor, Need.CHANGE) is None
        if owner is None and admin:
            return _refuse(
                f"{step.tier} of {self.ref} waits for {names_of(policy, self.awaited(step))}: "
                "say whose place moves (from @person)."
            )
        if owner is None or (owner != actor and not admin):
            return _refuse(
                f"{self.ref} is not waiting for you ({step.tier} is with "
                f"{names_of(policy, step.approvers)}), so you cannot hand it on."
                + ("" if owner is None else " Only a policy admin can move someone else's place.")
            )
        if owner not in step.approvers:
            return _refuse(f"{name_of(policy, owner)} is not an approver of {step.tier} now.")
        if owner in self.voted(step):
            who = "You" if owner == actor else name_of(policy, owner)
            return _refuse(
                f"{who} already voted on this step of {self.ref}; it cannot be handed on."
            )
        return self.may_receive(policy, step, target)

    def may_receive(self, policy: Policy, step: StepRecord, target: str) -> Permission:
        """May `target` be given a place on `step`?"""
        name = name_of(policy, target)
        if target == self.requester:
            return _refuse(
                f"{name} filed {self.ref}, so they cannot decide it (segregation of duties)."
            )
        if target in step.approvers:
            return _closed(f"{name} is already an approver of this step of {self.ref}.")
        if target in step.former_approvers:
            return _refuse(f"{name} already had this step of {self.ref} and let it time out.")
        if target in self.barred(step):
            return _refuse(
                f"{name} already decided a step of {self.ref}, so they cannot decide this "
                "one too (segregation of duties)."
            )
        return ALLOWED

    def may_view(self, policy: Policy, person: str) -> bool:
        """The requester, anyone on the route, the managers it escalated to, admins and
        auditors may see a case."""
        if person == self.requester or any(person in s.approvers for s in self.steps):
            return True
        if any(d.person == person for d in self.votes):
            return True
        step = self.current_step
        if step is not None and step.escalated and self.may_press(policy, person).as_manager:
            return True
        found = policy.person(person)
        return found is not None and bool(found.roles & {Role.ADMIN, Role.AUDITOR})

    # --- how the case reads -------------------------------------------------------------

    def awaiting_text(self, policy: Policy, step: StepRecord) -> str:
        """`waiting for Sam Novak, 1 of 2 approvals`: who the step still waits for."""
        if step.status is StepStatus.INFO_REQUESTED:
            return f"waiting for {name_of(policy, self.requester)} to answer a question"
        awaited = self.awaited(step)
        text = f"waiting for {names_of(policy, awaited)}" if awaited else "waiting for an approver"
        if step.required > 1:
            text += f", {self.approvals(step)} of {step.required} approvals"
        return text

    def already_final(self, policy: Policy) -> str:
        last = self.last_decision()
        status = self.status.value
        if last is not None and self.status in (CaseStatus.APPROVED, CaseStatus.REJECTED):
            verb = "approved" if last.action is Action.APPROVE else "rejected"
            return (
                f"{self.ref} is already {status}: {name_of(policy, last.person)} {verb} it "
                f"at {at_text(last.at)}."
            )
        return f"{self.ref} is already {status}; nothing more can be decided on it."

    def stale(self, policy: Policy, step_id: int) -> str:
        step = self.step(step_id)
        current = self.current_step
        now_with = f" It is now with {current.tier}." if current else ""
        last = self.last_decision(step) if step is not None else None
        if step is None or last is None:
            return f"That card is out of date.{now_with}"
        verb = "approved" if last.action is Action.APPROVE else "rejected"
        return (
            f"The {step.tier} step was already {verb} by {name_of(policy, last.person)} "
            f"at {at_text(last.at)}.{now_with}"
        )


def _delegate(policy: Policy, person_id: str) -> str | None:
    person = policy.person(person_id)
    return person.delegate if person is not None else None


def _has_role(policy: Policy, person_id: str, role: Role) -> bool:
    person = policy.person(person_id)
    return person is not None and person.has_role(role)

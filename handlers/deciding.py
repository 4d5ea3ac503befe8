"""Deciding a step: approve, reject, or ask the requester for more information.

The case model says whether the actor may (`Case.may_act`: the case is pending, the press
was made on the current step, the actor is assigned, a delegate or the manager it escalated
to, never the requester, never two steps of one case) and whether a rationale is needed;
the vote is then a transition of the model, saved whole (`handlers.unit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from handlers.commands import Answer, Decide
from handlers.context import Actor, Services
from handlers.errors import InvalidRequest, RationaleRequired
from handlers.unit import change_case, guard
from policy.case import Case
from policy.case_changes import answer, request_info
from policy.case_draft import Change
from policy.case_flow import cast_vote
from policy.case_records import CaseRecord
from policy.lifecycle import Action, AuditKind

MAX_RATIONALE = 3000


@dataclass(frozen=True, slots=True)
class DecisionResult:
    case: CaseRecord
    message: str  # what to tell the person who pressed


def _text(value: str | None, field: str) -> str | None:
    text = (value or "").strip() or None
    if text is not None and len(text) > MAX_RATIONALE:
        raise InvalidRequest([(field, f"is longer than {MAX_RATIONALE} characters")])
    return text


async def decide(svc: Services, actor: Actor, cmd: Decide) -> DecisionResult:
    if cmd.action not in (Action.APPROVE, Action.REJECT, Action.REQUEST_INFO):
        raise InvalidRequest([("action", f"unknown action {cmd.action!r}")])
    rationale = _text(cmd.rationale, "rationale")

    def make(case: Case, away: Mapping[str, str]) -> Change:
        permission = case.may_act(svc.policy, actor.id, cmd.action, cmd.step_id)
        refused = guard(
            svc,
            case,
            actor,
            permission,
            AuditKind.DECISION_REFUSED,
            attempted=cmd.action,
            rationale=rationale,
        )
        if refused is not None:
            return refused
        if permission.rationale_prompt is not None and rationale is None:
            raise RationaleRequired(permission.rationale_prompt)
        now = svc.clock.now()
        if cmd.action is Action.REQUEST_INFO:
            assert rationale is not None
            return request_info(svc.policy, case, actor, rationale, now)
        return cast_vote(svc.policy, case, actor, cmd.action, rationale, permission, now, away)

    change = await change_case(svc, cmd.case_id, make)
    return DecisionResult(change.case.record, change.note)


async def answer_question(svc: Services, actor: Actor, cmd: Answer) -> DecisionResult:
    """The requester answers a request for information: the step opens again."""
    text = _text(cmd.text, "text")
    if text is None:
        raise InvalidRequest([("text", "is required: write your answer")])

    def make(case: Case, away: Mapping[str, str]) -> Change:
        permission = case.may_answer(actor.id)
        refused = guard(svc, case, actor, permission, AuditKind.ANSWER_REFUSED, rationale=text)
        if refused is not None:
            return refused
        return answer(svc.policy, case, actor, text, svc.clock.now())

    change = await change_case(svc, cmd.case_id, make)
    return DecisionResult(change.case.record, change.note)

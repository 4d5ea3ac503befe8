"""Withdrawing, revoking and commenting: the changes to a case that are not votes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from handlers.commands import Comment, Revoke, Withdraw
from handlers.context import Actor, Services
from handlers.errors import InvalidRequest
from handlers.unit import change_case, guard
from policy.case import Case
from policy.case_changes import comment as comment_on
from policy.case_changes import end_by_person
from policy.case_draft import Change
from policy.case_records import CaseRecord
from policy.lifecycle import AuditKind, CaseStatus

MAX_TEXT = 3000


@dataclass(frozen=True, slots=True)
class ChangeResult:
    case: CaseRecord
    message: str


def _text(value: str | None, field: str, *, required: bool) -> str | None:
    text = (value or "").strip() or None
    if text is None and required:
        raise InvalidRequest([(field, "is required")])
    if text is not None and len(text) > MAX_TEXT:
        raise InvalidRequest([(field, f"is longer than {MAX_TEXT} characters")])
    return text


async def withdraw(svc: Services, actor: Actor, cmd: Withdraw) -> ChangeResult:
    reason = _text(cmd.reason, "reason", required=False)

    def make(case: Case, away: Mapping[str, str]) -> Change:
        permission = case.may_withdraw(actor.id)
        refused = guard(svc, case, actor, permission, AuditKind.WITHDRAW_REFUSED)
        if refused is not None:
            return refused
        return end_by_person(svc.policy, case, actor, CaseStatus.WITHDRAWN, reason, svc.clock.now())

    change = await change_case(svc, cmd.case_id, make)
    return ChangeResult(change.case.record, change.note)


async def revoke(svc: Services, actor: Actor, cmd: Revoke) -> ChangeResult:
    reason = _text(cmd.reason, "reason", required=True)

    def make(case: Case, away: Mapping[str, str]) -> Change:
        permission = case.may_revoke(svc.policy, actor.id)
        refused = guard(svc, case, actor, permission, AuditKind.REVOKE_REFUSED)
        if refused is not None:
            return refused
        return end_by_person(svc.policy, case, actor, CaseStatus.REVOKED, reason, svc.clock.now())

    change = await change_case(svc, cmd.case_id, make)
    return ChangeResult(change.case.record, change.note)


async def comment(svc: Services, actor: Actor, cmd: Comment) -> ChangeResult:
    """Add a note to the case. The requester's notes reach the approvers still awaited, and
    everyone else's reach the requester. A comment never answers a question."""
    text = _text(cmd.text, "text", required=True)
    assert text is not None

    def make(case: Case, away: Mapping[str, str]) -> Change:
        permission = case.may_comment(svc.policy, actor.id)
        refused = guard(svc, case, actor, permission, AuditKind.COMMENT_REFUSED)
        if refused is not None:
            return refused
        return comment_on(svc.policy, case, actor, text, svc.clock.now(), cmd.author)

    change = await change_case(svc, cmd.case_id, make)
    return ChangeResult(change.case.record, change.note)

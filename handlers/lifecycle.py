"""Withdrawing, revoking and commenting: the changes to a case that are not votes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.commands import Comment, Revoke, Withdraw
from handlers.context import Actor, Services
from handlers.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from handlers.people import name_of
from handlers.progress import close_case
from policy.model import Role
from policy.sod import Permission, may_revoke, may_withdraw
from storage import audit, cases, outbox
from storage.audit import AuditEvent
from storage.outbox import MessageKind, OutgoingMessage
from storage.records import CaseRecord, CaseStatus, StepStatus, case_ref

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


async def _load(conn: AsyncConnection, case_id: int) -> CaseRecord:
    case = await cases.get_case(conn, case_id)
    if case is None:
        raise NotFound(f"There is no exception {case_ref(case_id)}.")
    return case


async def _refuse(
    conn: AsyncConnection, svc: Services, actor: Actor, case: CaseRecord, what: str, why: str
) -> None:
    await audit.append(
        conn,
        [
            AuditEvent(
                actor=actor.id,
                action=f"{what}.refused",
                case_ref=case.ref,
                policy_version=case.policy_version,
                platform=actor.platform,
                data={"reason": why},
            )
        ],
        svc.clock.now(),
    )


async def withdraw(svc: Services, actor: Actor, cmd: Withdraw) -> ChangeResult:
    reason = _text(cmd.reason, "reason", required=False)
    return await _end(svc, actor, cmd.case_id, reason, CaseStatus.WITHDRAWN, "withdraw")


async def revoke(svc: Services, actor: Actor, cmd: Revoke) -> ChangeResult:
    reason = _text(cmd.reason, "reason", required=True)
    return await _end(svc, actor, cmd.case_id, reason, CaseStatus.REVOKED, "revoke")


async def _end(
    svc: Services,
    actor: Actor,
    case_id: int,
    reason: str | None,
    status: CaseStatus,
    verb: str,
) -> ChangeResult:
    """Withdraw a pending case (its requester) or revoke a decided one (an admin)."""
    now = svc.clock.now()
    refusal: str | None = None
    async with svc.db.transaction() as conn:
        case = await _load(conn, case_id)
        permission: Permission
        if status is CaseStatus.WITHDRAWN:
            permission = may_withdraw(actor.id, case.requester)
        else:
            permission = may_revoke(svc.policy, actor.id, case.requester)
        if not permission.allowed:
            refusal = permission.reason or f"You may not {verb} {case.ref}."
            await _refuse(conn, svc, actor, case, f"case.{verb}", refusal)
        else:
            wanted = (
                (CaseStatus.PENDING,)
                if status is CaseStatus.WITHDRAWN
                else (CaseStatus.APPROVED, CaseStatus.REJECTED)
            )
            if case.status not in wanted:
                raise Conflict(
                    f"{case.ref} is {case.status.value}; only "
                    f"{' or '.join(s.value for s in wanted)} cases can be {status.value}."
                )
            steps = await cases.steps_for_case(conn, case.id)
            if not await close_case(conn, case, steps, status, now):
                raise Conflict(f"{case.ref} changed while you were acting; please try again.")
            await audit.append(
                conn,
                [
                    AuditEvent(
                        actor=actor.id,
                        action=f"case.{status.value}",
                        case_ref=case.ref,
                        rationale=reason,
                        policy_version=case.policy_version,
                        platform=actor.platform,
                        data={"previous_status": case.status.value},
                    )
                ],
                now,
            )
            messages = [OutgoingMessage(MessageKind.UPDATE_CARDS, case_id=case.id)]
            if actor.id != case.requester:
                messages.append(
                    OutgoingMessage(
                        MessageKind.NOTIFY,
                        case_id=case.id,
                        recipient=case.requester,
                        text=f"{case.ref} was {status.value} by {name_of(svc.policy, actor.id)}: "
                        f"{reason}",
                    )
                )
            await outbox.enqueue(conn, messages, now)
            updated = await _load(conn, case.id)
            return ChangeResult(updated, f"{case.ref} is now {status.value}.")
    assert refusal is not None
    raise NotAllowed(refusal)


async def comment(svc: Services, actor: Actor, cmd: Comment) -> ChangeResult:
    """Add a note to the case. The requester's notes reach the open step's approvers, and
    approvers' notes reach the requester."""
    text = _text(cmd.text, "text", required=True)
    now = svc.clock.now()
    refusal: str | None = None
    async with svc.db.transaction() as conn:
        case = await _load(conn, cmd.case_id)
        steps = await cases.steps_for_case(conn, case.id)
        involved = {case.requester} | {p for s in steps for p in s.approvers}
        person = svc.policy.person(actor.id)
        if actor.id not in involved and not (person and person.has_role(Role.ADMIN)):
            refusal = f"Only the requester, the approvers and admins can comment on {case.ref}."
            await _refuse(conn, svc, actor, case, "case.comment", refusal)
        else:
            await audit.append(
                conn,
                [
                    AuditEvent(
                        actor=actor.id,
                        action="case.commented",
                        case_ref=case.ref,
                        rationale=text,
                        policy_version=case.policy_version,
                        platform=actor.platform,
                    )
                ],
                now,
            )
            if actor.id == case.requester:
                recipients = [p for s in steps if s.status is StepStatus.OPEN for p in s.approvers]
            else:
                recipients = [case.requester]
            author = name_of(svc.policy, actor.id)
            await outbox.enqueue(
                conn,
                [
                    OutgoingMessage(MessageKind.UPDATE_CARDS, case_id=case.id),
                    *[
                        OutgoingMessage(
                            MessageKind.NOTIFY,
                            case_id=case.id,
                            recipient=r,
                            text=f"{author} commented on {case.ref}: {text}",
                        )
                        for r in recipients
                    ],
                ],
                now,
            )
            return ChangeResult(case, f"Comment added to {case.ref}.")
    assert refusal is not None
    raise NotAllowed(refusal)

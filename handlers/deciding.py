"""Deciding a step: approve, reject, or ask the requester for more information.

Checks, in order: the case exists and is pending; the press was made on the step that is open
now; the actor may act (assigned or a delegate, never the requester, never two steps of one
case); a rationale is present where needed. Then the vote is recorded and the chain advances,
with compare-and-set on the step and the case so two simultaneous presses cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.commands import Decide
from handlers.context import Actor, Services
from handlers.errors import Conflict, InvalidRequest, NotAllowed, NotFound, RationaleRequired
from handlers.people import name_of
from handlers.progress import Advance, advance_after_vote, deciders
from handlers.texts import already_final, stale_step
from policy.sod import may_decide
from storage import audit, cases, outbox
from storage.audit import AuditEvent
from storage.outbox import MessageKind, OutgoingMessage
from storage.records import Action, CaseRecord, StepStatus, case_ref

MAX_RATIONALE = 3000
MAX_ATTEMPTS = 5  # compare-and-set retries before telling the user to try again

_VERBS = {Action.APPROVE: "approved", Action.REJECT: "rejected"}


@dataclass(frozen=True, slots=True)
class DecisionResult:
    case: CaseRecord
    message: str  # what to tell the person who pressed


class _LostRace(Exception):
    """A compare-and-set found the row changed; the attempt rolled back and is retried."""


async def decide(svc: Services, actor: Actor, cmd: Decide) -> DecisionResult:
    if cmd.action not in (Action.APPROVE, Action.REJECT, Action.REQUEST_INFO):
        raise InvalidRequest([("action", f"unknown action {cmd.action!r}")])
    rationale = (cmd.rationale or "").strip() or None
    if rationale is not None and len(rationale) > MAX_RATIONALE:
        raise InvalidRequest([("rationale", f"is longer than {MAX_RATIONALE} characters")])
    for _ in range(MAX_ATTEMPTS):
        try:
            return await _decide_once(svc, actor, cmd, rationale)
        except _LostRace:
            continue
    raise Conflict("The case is changing quickly right now; please try again.")


def _check_rationale(case: CaseRecord, action: Action, rationale: str | None) -> None:
    if rationale is not None:
        return
    if action is Action.REJECT:
        raise RationaleRequired("A rejection needs a rationale: say why.")
    if action is Action.REQUEST_INFO:
        raise RationaleRequired("Say what information you need from the requester.")
    if case.rationale_required:
        raise RationaleRequired(
            f"Policy requires a rationale to approve {case.ref}: say why it is justified."
        )


async def _decide_once(
    svc: Services, actor: Actor, cmd: Decide, rationale: str | None
) -> DecisionResult:
    policy = svc.policy
    now = svc.clock.now()
    ref = case_ref(cmd.case_id)
    refusal: str | None = None
    async with svc.db.transaction() as conn:
        case = await cases.get_case(conn, cmd.case_id)
        if case is None:
            raise NotFound(f"There is no exception {ref}.")
        steps = await cases.steps_for_case(conn, case.id)
        votes = await cases.decisions_for_case(conn, case.id)
        if case.status.is_final:
            raise Conflict(already_final(policy, case, votes))
        step = next(s for s in steps if s.status is StepStatus.OPEN)
        if cmd.step_id is not None and cmd.step_id != step.id:
            raise Conflict(stale_step(policy, cmd.step_id, steps, votes))

        # A vote cast on someone's behalf counts as theirs too.
        voted = frozenset(
            person
            for v in votes
            if v.step_id == step.id
            for person in (v.person, v.on_behalf_of)
            if person is not None
        )
        permission = may_decide(
            policy,
            actor.id,
            requester=case.requester,
            step_approvers=step.approvers,
            decided_other_steps=deciders(votes, exclude_step=step.id),
            already_voted=actor.id in voted,
            escalated=step.escalated,
            voted_on_step=voted,
        )
        if not permission.allowed:
            refusal = permission.reason or "You may not decide this step."
            await audit.append(
                conn,
                [
                    AuditEvent(
                        actor=actor.id,
                        action="decision.refused",
                        case_ref=ref,
                        step_id=step.id,
                        rationale=rationale,
                        policy_version=case.policy_version,
                        platform=actor.platform,
                        data={
                            "attempted": cmd.action.value,
                            "reason": refusal,
                            **actor.trace(),
                        },
                    )
                ],
                now,
            )
        else:
            if permission.rationale_required and rationale is None:
                raise RationaleRequired(
                    f"You are deciding {ref} on behalf of "
                    f"{name_of(policy, permission.on_behalf_of or '')} as their manager: "
                    "say why."
                )
            _check_rationale(case, cmd.action, rationale)
            if cmd.action is Action.REQUEST_INFO:
                return await _request_info(svc, conn, actor, case, step.id, rationale)
            await cases.insert_decision(
                conn,
                step=step,
                person=actor.id,
                on_behalf_of=permission.on_behalf_of,
                action=cmd.action,
                rationale=rationale,
                platform=actor.platform,
                now=now,
            )
            vote = AuditEvent(
                actor=actor.id,
                action=f"decision.{_VERBS[cmd.action]}",
                case_ref=ref,
                step_id=step.id,
                rationale=rationale,
                policy_version=step.policy_version,
                platform=actor.platform,
                data={
                    "tier": step.tier,
                    "on_behalf_of": permission.on_behalf_of,
                    # A manager stepping in on an escalated step, rather than a delegate.
                    **({"as_manager": True} if permission.rationale_required else {}),
                    **actor.trace(),
                },
            )
            advance = await advance_after_vote(
                svc, conn, case, steps, votes, step, actor.id, cmd.action, now
            )
            if not advance.applied:
                raise _LostRace
            await audit.append(conn, [vote, *advance.events], now)
            await outbox.enqueue(conn, advance.messages, now)
            updated = await cases.get_case(conn, case.id)
            assert updated is not None
            return DecisionResult(updated, _confirmation(svc, cmd.action, updated, advance))
    assert refusal is not None
    raise NotAllowed(refusal)


def _confirmation(svc: Services, action: Action, case: CaseRecord, advance: Advance) -> str:
    verb = _VERBS[action]
    if case.status.is_final:
        return f"You {verb} {case.ref}. The case is now {case.status.value}."
    if advance.next_tier is not None:
        return f"You {verb} {case.ref}. It moves on to {advance.next_tier}."
    return f"You {verb} {case.ref}. {advance.progress}"


async def _request_info(
    svc: Services,
    conn: AsyncConnection,
    actor: Actor,
    case: CaseRecord,
    step_id: int,
    question: str | None,
) -> DecisionResult:
    now = svc.clock.now()
    await audit.append(
        conn,
        [
            AuditEvent(
                actor=actor.id,
                action="case.info_requested",
                case_ref=case.ref,
                step_id=step_id,
                rationale=question,
                policy_version=case.policy_version,
                platform=actor.platform,
            )
        ],
        now,
    )
    asker = name_of(svc.policy, actor.id)
    await outbox.enqueue(
        conn,
        [
            OutgoingMessage(
                MessageKind.NOTIFY,
                case_id=case.id,
                recipient=case.requester,
                text=f"{asker} needs more information on {case.ref}: {question}",
            ),
            OutgoingMessage(MessageKind.UPDATE_CARDS, case_id=case.id),
        ],
        now,
    )
    return DecisionResult(
        case, f"Asked {name_of(svc.policy, case.requester)} for more information."
    )

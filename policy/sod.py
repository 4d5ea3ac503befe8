"""Segregation of duties: who may decide, revoke or withdraw an exception.

Pure functions over the policy and facts the caller already knows about the case. A refusal
carries a message written for the person refused, in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass

from policy.model import Policy, Role
from policy.routing import escalation_managers


@dataclass(frozen=True, slots=True)
class Permission:
    allowed: bool
    reason: str | None = None  # why not, for the person refused
    on_behalf_of: str | None = None  # the approver a delegate or a manager acts for
    rationale_required: bool = False  # a manager deciding an escalated step must say why


def may_decide(
    policy: Policy,
    actor: str,
    *,
    requester: str,
    step_approvers: tuple[str, ...],
    decided_other_steps: frozenset[str],
    already_voted: bool,
    escalated: bool = False,
    voted_on_step: frozenset[str] = frozenset(),
) -> Permission:
    """May `actor` approve or reject the open step whose approvers are `step_approvers`?

    `decided_other_steps` holds the people who decided other steps of this case, and
    `already_voted` says whether `actor` has voted on this step. A delegate may act for an
    approver who has them as `delegate` in the policy; the result then names that approver.

    Once the step has been `escalated` (it is overdue and its approvers' managers were asked
    to step in), the manager it escalated to for an approver who has not voted yet (those who
    did are in `voted_on_step`) may decide on that approver's behalf, with a rationale. The
    managers are found exactly as the escalation found them (`escalation_managers`).
    """
    if actor == requester:
        return _refuse("You filed this exception, so you cannot decide it (segregation of duties).")
    if actor in decided_other_steps:
        return _refuse(
            "You already decided another step of this exception, so someone else must decide "
            "this one (segregation of duties)."
        )
    if already_voted:
        return _refuse("You have already voted on this step.")
    if actor in step_approvers:
        return Permission(allowed=True)
    principals = [a for a in step_approvers if _delegate(policy, a) == actor]
    for principal in principals:
        if principal != requester and principal not in decided_other_steps:
            return Permission(allowed=True, on_behalf_of=principal)
    if principals:
        return _refuse(
            f"You stand in for {_name(policy, principals[0])}, who already decided another "
            "step of this exception, so you cannot decide this one (segregation of duties)."
        )
    if escalated:
        barred = decided_other_steps | voted_on_step | {requester}
        for approver in step_approvers:
            if approver not in barred and actor in escalation_managers(
                policy, (approver,), barred | frozenset(step_approvers)
            ):
                return Permission(allowed=True, on_behalf_of=approver, rationale_required=True)
    if not step_approvers:
        return _refuse("You are not an approver of this step.")
    names = ", ".join(_name(policy, a) for a in step_approvers)
    return _refuse(f"You are not an approver of this step. Its approvers are: {names}.")


def may_revoke(policy: Policy, actor: str, requester: str) -> Permission:
    """Revoking a decision is for admins, and never for the person who filed the exception."""
    if actor == requester:
        return _refuse(
            "You filed this exception, so you cannot revoke its decision (segregation of duties)."
        )
    person = policy.person(actor)
    if person is None or not person.has_role(Role.ADMIN):
        return _refuse("Only a policy admin can revoke a decision, and you are not one.")
    return Permission(allowed=True)


def may_withdraw(actor: str, requester: str) -> Permission:
    """Only the person who filed an exception may withdraw it."""
    if actor != requester:
        return _refuse("Only the person who filed this exception can withdraw it.")
    return Permission(allowed=True)


def _refuse(reason: str) -> Permission:
    return Permission(allowed=False, reason=reason)


def _delegate(policy: Policy, person_id: str) -> str | None:
    person = policy.person(person_id)
    return person.delegate if person is not None else None


def _name(policy: Policy, person_id: str) -> str:
    person = policy.person(person_id)
    return person.name if person is not None else person_id

"""Whose cases count in someone's KPIs (`/approvals stats`): the one rule."""

from __future__ import annotations

from policy.case import Case
from policy.model import Policy
from policy.roles import Need, role_problem


def sees_whole_program(policy: Policy, viewer: str) -> bool:
    return role_problem(policy, viewer, Need.LOOK) is None


def counts_for(policy: Policy, viewer: str, case: Case) -> bool:
    """Admins and auditors see the whole program; anyone else sees the cases they filed or
    decide: on a step's route (now, or before it timed out on them), or having voted on it
    (for themselves, or for someone as their delegate or manager)."""
    if sees_whole_program(policy, viewer) or viewer == case.requester:
        return True
    if any(viewer in (*s.approvers, *s.former_approvers) for s in case.steps):
        return True
    return any(viewer in (v.person, v.on_behalf_of) for v in case.votes)

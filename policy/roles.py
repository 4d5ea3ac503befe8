"""Who may govern: the one rule for the admin and auditor commands.

Admins change the policy (edit, propose, approve, reject, roll back) and reassign any open
step; auditors, like admins, may look (the policy, its history and diffs, the audit log's
verification and export). Everyone else is refused with the role they would need.
"""

from __future__ import annotations

import enum

from policy.model import Policy, Role


class Need(enum.Enum):
    CHANGE = "admin"  # change the policy or move someone else's work
    LOOK = "admin or auditor"  # read the policy's history, verify or export the audit log


def roles_of(policy: Policy, person_id: str) -> frozenset[Role]:
    person = policy.person(person_id)
    return person.roles if person is not None else frozenset()


def role_problem(policy: Policy, person_id: str, need: Need) -> str | None:
    """Why `person_id` may not do something that needs `need`, or None when they may."""
    roles = roles_of(policy, person_id)
    if Role.ADMIN in roles or (need is Need.LOOK and Role.AUDITOR in roles):
        return None
    return f"Only a policy {need.value} can do that, and you are not one."

"""Names for messages: people are stored by id and shown by name."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from policy.model import Policy, Role


def name_of(policy: Policy, person_id: str) -> str:
    if person_id.startswith("system:"):
        return (
            "the approvals bot"
            if person_id in ("system:policy", "system:scheduler", "system:workflow")
            else person_id.removeprefix("system:")
        )
    person = policy.person(person_id)
    return person.name if person else person_id


def names_of(policy: Policy, person_ids: Iterable[str]) -> str:
    names = [name_of(policy, pid) for pid in person_ids]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def at_text(at: datetime) -> str:
    """A moment as messages show it: 2026-03-02 13:00 UTC."""
    return at.strftime("%Y-%m-%d %H:%M UTC")


def admins(policy: Policy) -> tuple[str, ...]:
    """The policy's admins, who take what nobody else may decide."""
    return tuple(p.id for p in policy.people.values() if p.has_role(Role.ADMIN))

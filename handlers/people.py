"""Names for messages: people are stored by id and shown by name."""

from __future__ import annotations

from policy.model import Policy


def name_of(policy: Policy, person_id: str) -> str:
    if person_id.startswith("system:"):
        return (
            "the approvals bot"
            if person_id in ("system:policy", "system:scheduler")
            else person_id.removeprefix("system:")
        )
    person = policy.person(person_id)
    return person.name if person else person_id


def names_of(policy: Policy, person_ids: tuple[str, ...] | list[str]) -> str:
    names = [name_of(policy, pid) for pid in person_ids]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]

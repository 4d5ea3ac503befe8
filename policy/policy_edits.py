"""Editing a policy from chat, purely: a `/policy set ...` or `/policy group ...` command
applied to the policy's YAML, a readable diff of two versions, and the four-eyes rules.

An edit works on the document's data (comments are not kept in a chat draft: the file stays
the place for them) and the result is validated by the loader, so a draft is refused with the
same precise errors as `approvals policy check`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

import yaml

from policy.model import Policy, Role

# A mention or id -> a person id of the policy, or None.
Resolve = Callable[[str], str | None]

TIER_FIELDS = ("approvers", "backup", "mode", "sla", "remind", "escalate_after", "on_timeout")
RULE_FIELDS = ("when", "route", "outcome", "rationale")
PERSON_FIELDS = ("manager", "delegate", "roles")
_TIER_KEYS = {"remind": "remind_every"}


class EditError(ValueError):
    """The edit cannot be made; the message says why, for the admin."""


def load_data(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise EditError("the policy text is not a mapping")
    return data


def dump(data: dict[str, Any]) -> str:
    """The YAML a chat draft is stored as: keys in the file's order, block style."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _entry(data: dict[str, Any], section: str, entry_id: str, what: str) -> dict[str, Any]:
    for entry in data.get(section) or []:
        if isinstance(entry, dict) and str(entry.get("id")) == entry_id:
            return entry
    known = ", ".join(str(e.get("id")) for e in data.get(section) or [] if isinstance(e, dict))
    raise EditError(f"there is no {what} {entry_id!r}; the {what}s are: {known}")


def _people(words: list[str], resolve: Resolve) -> list[str]:
    people = []
    for word in words:
        if word.startswith("group:"):
            people.append(word)
            continue
        person = resolve(word)
        if person is None:
            raise EditError(f"I don't know who {word!r} is: name a person of the policy")
        people.append(person)
    return people


def apply_edit(data: dict[str, Any], words: list[str], resolve: Resolve) -> str:
    """Apply `set tier|rule|person ID FIELD VALUE...` or `group NAME add|remove @a...` to
    `data` in place; returns what was done, in words."""
    if words[:1] == ["group"]:
        return _group(data, words[1:], resolve)
    if len(words) < 4 or words[0] != "set" or words[1] not in ("tier", "rule", "person"):
        raise EditError(
            "write /policy set tier|rule|person ID FIELD VALUE..., "
            "or /policy group NAME add|remove @person"
        )
    kind, entry_id, field, values = words[1], words[2], words[3], words[4:]
    if kind == "tier":
        return _tier(_entry(data, "tiers", entry_id, "tier"), field, values, resolve)
    if kind == "rule":
        return _rule(_entry(data, "rules", entry_id, "rule"), field, values)
    return _person(_entry(data, "people", entry_id, "person"), field, values, resolve)


def _one(values: list[str], field: str) -> str:
    if len(values) != 1:
        raise EditError(f"{field} takes one value")
    return values[0]


def _tier(tier: dict[str, Any], field: str, values: list[str], resolve: Resolve) -> str:
    if field not in TIER_FIELDS:
        raise EditError(f"a tier's fields are: {', '.join(TIER_FIELDS)}")
    key = _TIER_KEYS.get(field, field)
    if field in ("approvers", "backup"):
        tier[key] = _people(values, resolve)
    elif field == "escalate_after":
        value = _one(values, field)
        if not value.isascii() or not value.isdigit():
            raise EditError("escalate_after is a number of reminders")
        tier[key] = int(value)
    elif field == "mode":
        value = _one(values, field)
        tier[key] = int(value) if value.isascii() and value.isdigit() else value
    else:
        tier[key] = _one(values, field)
    return f"tier {tier['id']}: {field} = {' '.join(values)}"


def _rule(rule: dict[str, Any], field: str, values: list[str]) -> str:
    if field not in RULE_FIELDS:
        raise EditError(f"a rule's fields are: {', '.join(RULE_FIELDS)}")
    if not values:
        raise EditError(f"{field} needs a value")
    if field == "when":
        rule["when"] = " ".join(values)
    elif field == "route":
        rule.pop("outcome", None)
        rule["route"] = list(values)
    elif field == "outcome":
        value = _one(values, field)
        if value == "none":
            rule.pop("outcome", None)
        else:
            rule.pop("route", None)
            rule["outcome"] = value
    else:
        rule["rationale"] = _one(values, field)
    return f"rule {rule['id']}: {field} = {' '.join(values)}"


def _person(person: dict[str, Any], field: str, values: list[str], resolve: Resolve) -> str:
    if field not in PERSON_FIELDS:
        raise EditError(f"a person's fields are: {', '.join(PERSON_FIELDS)}")
    if field == "roles":
        person["roles"] = list(values) if values != ["none"] else []
    else:
        value = _one(values, field)
        if value == "none":
            person.pop(field, None)
        else:
            person[field] = _people([value], resolve)[0]
    return f"person {person['id']}: {field} = {' '.join(values)}"


def _group(data: dict[str, Any], words: list[str], resolve: Resolve) -> str:
    if len(words) < 3 or words[1] not in ("add", "remove"):
        raise EditError("write /policy group NAME add|remove @person...")
    name, verb, people = words[0], words[1], _people(words[2:], resolve)
    groups = data.setdefault("groups", {})
    members = list(groups.get(name) or [])
    if verb == "add":
        members += [p for p in people if p not in members]
    else:
        missing = [p for p in people if p not in members]
        if missing:
            raise EditError(f"{', '.join(missing)} not in group {name}")
        members = [p for p in members if p not in people]
    groups[name] = members
    return f"group {name}: {verb} {' '.join(people)}"


def diff(before_text: str, after_text: str) -> str:
    """A unified diff of two versions, both written the way drafts are (so layout and
    comments of a file do not show as changes)."""
    before = dump(load_data(before_text)).splitlines()
    after = dump(load_data(after_text)).splitlines()
    lines = difflib.unified_diff(before, after, "active", "draft", lineterm="", n=2)
    return "\n".join(lines)


def admins_of(policy: Policy) -> frozenset[str]:
    return frozenset(p.id for p in policy.people.values() if p.has_role(Role.ADMIN))


def four_eyes_problem(approver: str, proposer: str, before: Policy, after: Policy) -> str | None:
    """Why `approver` may not approve this change, or None. Nobody approves their own
    proposal, a change of their own roles, or a change of their own place as an approver."""
    if approver == proposer:
        return "You proposed this change, so another admin must approve it (four eyes)."
    mine_before, mine_after = before.person(approver), after.person(approver)
    roles_before = mine_before.roles if mine_before else frozenset()
    roles_after = mine_after.roles if mine_after else frozenset()
    if roles_before != roles_after:
        return "This change alters your own roles, so another admin must approve it."
    if _places(before, approver) != _places(after, approver):
        return "This change alters where you approve, so another admin must approve it."
    return None


def _places(policy: Policy, person: str) -> frozenset[tuple[str, str]]:
    """Where `person` approves: (tier, approvers|backup) pairs."""
    return frozenset(
        (tier.id, part)
        for tier in policy.tiers
        for part, members in (("approvers", tier.approvers), ("backup", tier.backup))
        if person in policy.expand(members)
    )


def admin_floor_problem(after: Policy) -> str | None:
    """Four eyes needs two admins: a change that would leave fewer is refused."""
    if len(admins_of(after)) < 2:
        return (
            "This change would leave fewer than two admins, and a policy changed from chat "
            "needs two (one proposes, another approves)."
        )
    return None

"""Checks across a policy file: references resolve, ids are unique, tiers can be staffed.

The schema (`policy.schema`) checks each value on its own; what is left needs the whole
file, such as "route names a tier that exists" or "managers form no cycle"; conditions are
checked for unknown names and for type mistakes (`policy.condition_types`). These checks read
the parsed YAML leniently (a value of the wrong type is simply not there; the schema reports
it), so one malformed value does not hide the other problems of its entry.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from policy.aggregates import use_problems
from policy.celfunctions import Located, function_problems
from policy.condition_types import type_problems
from policy.conditions import ConditionError, compile_condition, unknown_field_positions
from policy.yamldoc import Path


@dataclass(frozen=True, slots=True)
class Finding:
    path: Path  # where in the file, e.g. ("rules", 2, "when")
    message: str
    first: Path | None = None  # for duplicates: where the first one is


def check(data: Mapping[str, Any]) -> list[Finding]:
    """Every cross-reference problem of a parsed policy file."""
    view = _View(data)
    return [
        *_people(view),
        *_groups(view),
        *_taxonomy(view),
        *_remediation(view, data.get("remediation")),
        *_tiers(view),
        *_rules(view),
        *_duplicates("aggregates", view.aggregates, "id", "aggregate id"),
        *_route(view, _strings(_get(data.get("defaults"), "route")) or [], ("defaults", "route")),
    ]


class _View:
    """The entries of each list that have an id, by their index in the file."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.people = _entries(data, "people", "id")
        self.taxonomy = _entries(data, "taxonomy", "code")
        self.tiers = _entries(data, "tiers", "id")
        self.rules = _entries(data, "rules", "id")
        self.aggregates = _entries(data, "aggregates", "id")
        self.aggregate_ids = frozenset(str(entry["id"]) for _, entry in self.aggregates)
        groups = data.get("groups")
        self.groups: dict[str, list[str] | None] = (
            {str(name): _strings(members) for name, members in groups.items()}
            if isinstance(groups, dict)
            else {}
        )
        self.person_ids = frozenset(str(entry["id"]) for _, entry in self.people)
        self.tier_ids = frozenset(str(entry["id"]) for _, entry in self.tiers)


def _people(view: _View) -> Iterator[Finding]:
    for key, what in (
        ("id", "person id"),
        ("email", "email"),
        ("slack", "slack id"),
        ("teams", "teams id"),
        ("aad", "aad id"),
    ):
        yield from _duplicates("people", view.people, key, what)
    for i, person in view.people:
        manager, delegate = _text(person, "manager"), _text(person, "delegate")
        if manager is not None and manager not in view.person_ids:
            yield _unknown_person(manager, ("people", i, "manager"), view)
        if delegate == person["id"]:
            yield Finding(("people", i, "delegate"), "a person cannot be their own delegate")
        elif delegate is not None and delegate not in view.person_ids:
            yield _unknown_person(delegate, ("people", i, "delegate"), view)
    yield from _manager_cycles(view)


def _manager_cycles(view: _View) -> Iterator[Finding]:
    managers = {str(p["id"]): manager for _, p in view.people if (manager := _text(p, "manager"))}
    reported: set[frozenset[str]] = set()
    for index, person in view.people:
        chain = [str(person["id"])]
        current = managers.get(chain[0])
        while current is not None and current not in chain:
            chain.append(current)
            current = managers.get(current)
        # Report a cycle once, from its first person in the file.
        if current == chain[0] and frozenset(chain) not in reported:
            reported.add(frozenset(chain))
            shown = " -> ".join([*chain, chain[0]])
            yield Finding(("people", index, "manager"), f"managers form a cycle: {shown}")


def _groups(view: _View) -> Iterator[Finding]:
    for name, members in view.groups.items():
        for j, member in enumerate(members or []):
            if member.startswith("group:"):
                yield Finding(("groups", name, j), f"{member!r}: groups cannot contain groups")
            elif member not in view.person_ids:
                yield _unknown_person(member, ("groups", name, j), view)


def _taxonomy(view: _View) -> Iterator[Finding]:
    yield from _duplicates("taxonomy", view.taxonomy, "code", "code")
    for i, entry in view.taxonomy:
        owner = _text(entry, "owner")
        if owner is not None and owner not in view.person_ids:
            yield _unknown_person(owner, ("taxonomy", i, "owner"), view)


def _remediation(view: _View, everywhere: object) -> Iterator[Finding]:
    """Items go to the code's owner; reminders are what `escalate_after` counts."""
    blocks: list[tuple[Path, object]] = [(("remediation",), everywhere)]
    for i, entry in view.taxonomy:
        own = entry.get("remediation")
        blocks.append((("taxonomy", i, "remediation"), own))
        covered = isinstance(own, dict) or isinstance(everywhere, dict)
        if covered and _text(entry, "owner") is None:
            where: Path = ("taxonomy", i, "remediation") if own else ("taxonomy", i)
            yield Finding(where, "remediation items go to the code's owner: give it an owner")
    for path, block in blocks:
        counts = isinstance(block, dict) and type(block.get("escalate_after")) is int
        if counts and isinstance(block, dict) and block.get("remind_every") is None:
            yield Finding(
                (*path, "escalate_after"),
                "escalate_after counts reminders, so remediation also needs remind_every",
            )


def _tiers(view: _View) -> Iterator[Finding]:
    yield from _duplicates("tiers", view.tiers, "id", "tier id")
    for i, tier in view.tiers:
        approvers = _strings(tier.get("approvers"))
        unknown = list(_members(approvers or [], ("tiers", i, "approvers"), view))
        yield from unknown
        yield from _members(_strings(tier.get("backup")) or [], ("tiers", i, "backup"), view)
        escalate_after = tier.get("escalate_after")
        counts = type(escalate_after) is int and escalate_after >= 0  # else the schema's
        if counts and tier.get("remind_every") is None:
            yield Finding(
                ("tiers", i, "escalate_after"),
                "escalate_after counts reminders, so the tier also needs remind_every",
            )
        if approvers is None or unknown:
            continue  # missing or malformed (reported by the schema), or names unknown
        if not approvers:
            yield Finding(("tiers", i, "approvers"), "the tier has no approvers")
            continue
        people = _expand(approvers, view)
        mode = tier.get("mode")
        if people is None:
            continue  # a group it names is malformed, and reported
        if not people:
            yield Finding(
                ("tiers", i, "approvers"),
                "the approvers expand to nobody (their groups are empty)",
            )
        elif isinstance(mode, int) and not isinstance(mode, bool) and mode > len(people):
            yield Finding(
                ("tiers", i, "mode"),
                f"mode {mode} needs {mode} different approvers, but the tier has "
                f"{len(people)}: {', '.join(people)}",
            )


def _rules(view: _View) -> Iterator[Finding]:
    yield from _duplicates("rules", view.rules, "id", "rule id")
    for i, rule in view.rules:
        route = _strings(rule.get("route"))
        has_outcome = rule.get("outcome") is not None
        if route and has_outcome:
            yield Finding(
                ("rules", i),
                "the rule has both route and outcome: it either routes to approvers "
                "or decides (approve or reject), not both",
            )
        elif not has_outcome and rule.get("route") is None:
            yield Finding(
                ("rules", i),
                "the rule needs a route (tier ids) or an outcome (approve or reject)",
            )
        elif not has_outcome and route == []:
            yield Finding(("rules", i, "route"), "the route is empty; name at least one tier")
        yield from _route(view, route or [], ("rules", i, "route"))
        when = rule.get("when")
        if isinstance(when, str) and when.strip():
            yield from _condition(when, ("rules", i, "when"), view.aggregate_ids)


def _condition(source: str, path: Path, aggregates: frozenset[str]) -> Iterator[Finding]:
    try:
        compile_condition(source)
    except ConditionError as err:
        yield Finding(path, err.message)
        return
    unknown = [Located(*found) for found in unknown_field_positions(source)]
    unknown += [
        Located(message, token.line, token.column)
        for message, token in use_problems(source, aggregates)
    ]
    unknown += function_problems(source)
    # Types are checked once every name is known: an unknown one fails any evaluation.
    for problem in unknown or type_problems(source):
        yield Finding(path, _located(problem))


def _located(problem: Located) -> str:
    if problem.line is None or problem.column is None:
        return problem.message
    line, column = problem.line, problem.column
    at = f"line {line}, column {column}" if line > 1 else f"column {column}"
    return f"{at}: {problem.message}"


def _route(view: _View, route: list[str], path: Path) -> Iterator[Finding]:
    for j, tier_id in enumerate(route):
        if tier_id not in view.tier_ids:
            known = ", ".join(sorted(view.tier_ids))
            hint = _suggest(tier_id, view.tier_ids) or f"; tiers are: {known}"
            yield Finding((*path, j), f"unknown tier {tier_id!r}{hint}")


def _members(members: list[str], path: Path, view: _View) -> Iterator[Finding]:
    """Unknown people and groups among approver-style entries (person ids and group:NAME)."""
    for j, member in enumerate(members):
        if member.startswith("group:"):
            name = member.removeprefix("group:")
            if name not in view.groups:
                hint = _suggest(name, view.groups)
                yield Finding((*path, j), f"unknown group {name!r}{hint}")
        elif member not in view.person_ids:
            yield _unknown_person(member, (*path, j), view)


def _expand(members: list[str], view: _View) -> list[str] | None:
    """The known people `members` name, or None when a group is malformed."""
    people: dict[str, None] = {}
    for member in members:
        names: list[str] | None = [member]
        if member.startswith("group:"):
            names = view.groups.get(member.removeprefix("group:"))
        if names is None:
            return None
        people.update((name, None) for name in names if name in view.person_ids)
    return list(people)


def _unknown_person(person_id: str, path: Path, view: _View) -> Finding:
    return Finding(path, f"unknown person {person_id!r}{_suggest(person_id, view.person_ids)}")


def _duplicates(
    section: str, entries: list[tuple[int, dict[str, Any]]], key: str, what: str
) -> Iterator[Finding]:
    first: dict[str, Path] = {}
    for index, entry in entries:
        value = _text(entry, key)
        if value is None:
            continue
        # Emails are case-insensitive; ids are not.
        folded = value.casefold() if key == "email" else value
        path: Path = (section, index, key)
        if folded in first:
            yield Finding(path, f"duplicate {what} {value!r}", first=first[folded])
        else:
            first[folded] = path


def _entries(data: Mapping[str, Any], section: str, key: str) -> list[tuple[int, dict[str, Any]]]:
    entries = data.get(section)
    if not isinstance(entries, list):
        return []
    return [
        (i, entry)
        for i, entry in enumerate(entries)
        if isinstance(entry, dict) and isinstance(entry.get(key), str)
    ]


def _get(mapping: object, key: str) -> object:
    return mapping.get(key) if isinstance(mapping, dict) else None


def _text(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return value if isinstance(value, str) else None


def _strings(value: object) -> list[str] | None:
    """`value` if it is a list of strings, else None (a malformed list is the schema's)."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return None


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""

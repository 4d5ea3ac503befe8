"""Load a policy file (YAML) into a `Policy`, or say everything that is wrong with it.

The file is checked in three passes and every problem of every pass is reported at once,
each with the file, its line and the entry it is about (`rules[high-value].when`):

1. YAML syntax and duplicate keys;
2. the schema (`policy.schema`): unknown or missing keys, types, durations, enumerations;
3. cross-checks (`policy.checks`): references, unique ids, cycles, CEL conditions.

Pass 3 runs even when pass 2 found problems: it reads the parsed YAML leniently, so a bad
value in one entry does not hide the other problems of that entry, and a malformed tier still
counts as declared (a typo in its `sla` does not also break every route naming it).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from policy.aggregates import Aggregate
from policy.calendar import DAY_NAMES, Calendar, parse_hours
from policy.checks import Finding, check
from policy.conditions import compile_condition, show_value
from policy.durations import parse_duration
from policy.model import (
    Amendments,
    ApprovalMode,
    Digest,
    ExceptionType,
    OnTimeout,
    Outcome,
    Person,
    Policy,
    Remediation,
    Role,
    Rule,
    Tier,
)
from policy.problems import PolicyError, PolicyProblem
from policy.schema import (
    KEYS,
    RawCalendar,
    RawExceptionType,
    RawPerson,
    RawPolicy,
    RawRemediation,
    RawRule,
    RawTier,
)
from policy.sources import Source
from policy.version import policy_version
from policy.yamldoc import Path as NodePath
from policy.yamldoc import YamlDocument

__all__ = ["PolicyError", "PolicyProblem", "load_policy", "parse_policy"]

# The lists whose entries are named by a key rather than by position in messages.
_NAMED_BY = {"people": "id", "taxonomy": "code", "tiers": "id", "rules": "id"}


def load_policy(path: str | Path) -> Policy:
    """Read and validate the policy file at `path`. Raises PolicyError."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        message = f"cannot read the policy file: {err}"
        raise PolicyError([PolicyProblem(source, None, "", message)]) from None
    return parse_policy(text, source)


def parse_policy(text: str, source: str) -> Policy:
    """Validate policy YAML `text`; `source` names it in messages. Raises PolicyError."""
    try:
        document = YamlDocument.compose(text)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader, see _Loader)
    except yaml.YAMLError as err:
        raise PolicyError([_yaml_problem(err, source)]) from None
    if document is None or data is None:
        raise PolicyError([PolicyProblem(source, 1, "", "the policy file is empty")])
    if not isinstance(data, dict):
        message = "the policy file must be a mapping of keys (name, people, tiers, ...)"
        raise PolicyError([PolicyProblem(source, 1, "", message)])

    report = _Report(source, document, data)
    for path, key, line, first in document.duplicate_keys():
        report.add_at(line, path, f"duplicate key {key!r} (first at line {first})")
    raw: RawPolicy | None = None
    try:
        raw = RawPolicy.model_validate(data)
    except ValidationError as err:
        for error in err.errors():
            report.schema_error(error)
    for finding in check(data):
        report.finding(finding)
    if report.problems or raw is None:
        raise PolicyError(report.sorted())
    return _build(raw, source)


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, except that dates stay text for the schema to parse.

    PyYAML turns `2026-12-25` into a date itself and raises a bare ValueError for
    `2026-13-25`; as text, a bad date is reported like any other bad value, with its line.
    """


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


class _Report:
    """Problems found so far, located in the file."""

    def __init__(self, source: str, document: YamlDocument, data: Mapping[str, Any]) -> None:
        self.source = source
        self.document = document
        self.data = data
        self.problems: list[PolicyProblem] = []

    def add(self, path: NodePath, message: str, where: NodePath | None = None) -> None:
        line = self.document.line(path)
        self.add_at(line, path if where is None else where, message)

    def add_at(self, line: int | None, where: NodePath, message: str) -> None:
        self.problems.append(PolicyProblem(self.source, line, self.where(where), message))

    def finding(self, finding: Finding) -> None:
        message = finding.message
        if finding.first is not None:
            message += f" (first at line {self.document.line(finding.first)})"
        # A duplicate id is about the entry; point at the entry, not at its `id` key.
        where = finding.path[:-1] if finding.first is not None else finding.path
        self.add(finding.path, message, where)

    def schema_error(self, error: Mapping[str, Any]) -> None:
        # "[key]" marks an error in a mapping's key itself (a bad group name).
        path: NodePath = tuple(p for p in error["loc"] if isinstance(p, str | int) and p != "[key]")
        kind = error["type"]
        if kind == "missing":
            self.add(path, f"missing required key {path[-1]!r}", path[:-1])
        elif kind == "extra_forbidden":
            self.add(path, f"unknown key {path[-1]!r}{self._allowed(path)}", path[:-1])
        else:
            self.add(path, _plain(error))

    def where(self, path: NodePath) -> str:
        """`rules[high-value].when` for ("rules", 3, "when")."""
        text = ""
        for depth, part in enumerate(path):
            if isinstance(part, int):
                # Entries of the main lists are named by id; list values speak for themselves.
                if depth == 1 and str(path[0]) in _NAMED_BY:
                    text += f"[{self._entry_name(str(path[0]), part)}]"
            else:
                text += f".{part}" if text else str(part)
        return text

    def sorted(self) -> list[PolicyProblem]:
        return sorted(self.problems, key=lambda p: p.line if p.line is not None else 0)

    def _entry_name(self, section: str, index: int) -> str:
        key = _NAMED_BY[section]
        entries = self.data.get(section)
        if isinstance(entries, list) and index < len(entries):
            entry = entries[index]
            if isinstance(entry, dict) and isinstance(entry.get(key), str):
                return str(entry[key])
        return f"#{index + 1}"

    def _allowed(self, path: NodePath) -> str:
        section = str(path[0]) if len(path) > 1 else ""
        allowed = KEYS.get(section)
        if allowed is None:
            return ""
        close = [k for k in allowed if _similar(str(path[-1]), k)]
        if close:
            return f" (did you mean {close[0]!r}?)"
        return f"; allowed keys: {', '.join(allowed)}"


def _similar(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.6


def _plain(error: Mapping[str, Any]) -> str:
    """Pydantic's message, reworded for a policy owner."""
    message = str(error["msg"])
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    message = message.replace("Input should", "should", 1)
    value = error.get("input")
    if isinstance(value, dict | list):
        return message
    return f"{message}, not {show_value(value)}"


def _yaml_problem(err: yaml.YAMLError, source: str) -> PolicyProblem:
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        mark = err.problem_mark
        context = f" ({err.context})" if err.context else ""
        message = f"YAML syntax error at column {mark.column + 1}: {err.problem}{context}"
        return PolicyProblem(source, mark.line + 1, "", message)
    return PolicyProblem(source, None, "", f"YAML syntax error: {err}")


def _build(raw: RawPolicy, source: str) -> Policy:
    policy = Policy(
        name=raw.name,
        version="",
        source=source,
        people={p.id: _person(p) for p in raw.people},
        groups={name: tuple(members) for name, members in raw.groups.items()},
        taxonomy={t.code: _exception_type(t) for t in raw.taxonomy},
        tiers=tuple(_tier(t) for t in raw.tiers),
        rules=tuple(_rule(r) for r in raw.rules),
        default_route=tuple(raw.defaults.route),
        calendar=None if raw.calendar is None else _calendar(raw.calendar),
        aggregates=tuple(
            Aggregate(a.id, parse_duration(a.window), tuple(a.match)) for a in raw.aggregates
        ),
        sources={
            name: Source(name, entry.webhook_url, entry.secret_env)
            for name, entry in raw.sources.items()
        },
        amendments=Amendments()
        if raw.amendments is None
        else Amendments(raw.amendments.amount_tolerance_pct),
        remediation=_remediation(raw.remediation),
        digest=None if raw.digest is None else Digest(time.fromisoformat(raw.digest.at)),
        compiled={r.id: compile_condition(r.when) for r in raw.rules},
    )
    return dataclasses.replace(policy, version=policy_version(policy))


def _person(raw: RawPerson) -> Person:
    return Person(
        id=raw.id,
        name=raw.name,
        email=raw.email,
        slack=raw.slack,
        teams=raw.teams,
        aad=raw.aad,
        manager=raw.manager,
        delegate=raw.delegate,
        roles=frozenset(Role(role) for role in raw.roles),
    )


def _exception_type(raw: RawExceptionType) -> ExceptionType:
    return ExceptionType(
        code=raw.code,
        title=raw.title,
        owner=raw.owner,
        playbook=raw.playbook,
        sla=None if raw.sla is None else parse_duration(raw.sla),
        remediation=_remediation(raw.remediation),
    )


def _remediation(raw: RawRemediation | None) -> Remediation | None:
    if raw is None:
        return None
    return Remediation(
        after=raw.after,
        within=parse_duration(raw.within),
        sla=parse_duration(raw.sla),
        per=raw.per,
        remind_every=None if raw.remind_every is None else parse_duration(raw.remind_every),
        escalate_after=raw.escalate_after,
    )


def _tier(raw: RawTier) -> Tier:
    if raw.mode == "any":
        mode = ApprovalMode.any()
    elif raw.mode == "all":
        mode = ApprovalMode.all()
    else:
        mode = ApprovalMode.of(int(raw.mode))
    return Tier(
        id=raw.id,
        approvers=tuple(raw.approvers),
        mode=mode,
        sla=parse_duration(raw.sla),
        remind_every=None if raw.remind_every is None else parse_duration(raw.remind_every),
        escalate_after=raw.escalate_after,
        on_timeout=OnTimeout(raw.on_timeout),
        backup=tuple(raw.backup),
    )


def _calendar(raw: RawCalendar) -> Calendar:
    opens, closes = parse_hours(raw.hours)
    return Calendar(
        timezone=raw.timezone,
        days=frozenset(DAY_NAMES.index(day) for day in raw.days),
        opens=opens,
        closes=closes,
        holidays=frozenset(raw.holidays),
    )


def _rule(raw: RawRule) -> Rule:
    return Rule(
        id=raw.id,
        when=raw.when,
        route=tuple(raw.route or ()),
        outcome=None if raw.outcome is None else Outcome(raw.outcome),
        ref=raw.ref,
        url=raw.url,
        flags=tuple(raw.flags),
        rationale_required=raw.rationale == "required",
    )

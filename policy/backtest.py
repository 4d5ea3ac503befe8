"""What a draft policy would have done with past cases, next to what the policy before it does.

Pure: no I/O, no clock, no database. The caller hands over the past cases (their ids and the
normalized requests stored with them), the draft, and `policy_for(case)`: the policy to compare
against for each case, the stored version that decided it (`the_version_that_decided`) or one
policy for all (`the_same_for_all`).

Each request is evaluated under both policies as `policy.evaluate.evaluate` does it, with
nobody away (a backtest asks what the rules say, not who happens to be on holiday), by an
`Evaluator` that gives the same answers at a fraction of the cost. What is compared is what
policy decides before a human sees the case:

- the outcome: `approve` (approved by policy), `reject` (rejected by policy) or `route`
  (a human decides), or `invalid` when the policy cannot evaluate the request (a code that is
  not in its taxonomy, a requester it does not know, a stored request that no longer
  validates), with the reason;
- the route, as tier ids in ladder order;
- the flags, as a set (their order follows the order of the rules, which means nothing).

A case whose request the draft cannot evaluate is always a change. The approver load of a tier
is the number of cases whose route includes it, before and after.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from policy.celscan import references
from policy.conditions import ConditionError, activation, evaluate_condition
from policy.evaluate import combine, flags_of, program_of, request_problems
from policy.loader import PolicyError, parse_policy
from policy.model import Outcome, Policy, Rule
from policy.request import ExceptionRequest

INVALID = "invalid"  # the outcome of a request a policy cannot evaluate

_SHOWN = {
    Outcome.APPROVE.value: "auto-approve",
    Outcome.REJECT.value: "auto-reject",
    Outcome.ROUTE.value: "human",
    INVALID: "invalid",
}


@dataclass(frozen=True, slots=True)
class PastCase:
    """A case as the backtest needs it: its id and the normalized request stored with it."""

    id: str  # EXC-000123
    request: Mapping[str, Any]
    filed_at: datetime | None = None
    policy_version: str | None = None  # the version that decided it, for `policy_for`


PolicyFor = Callable[[PastCase], Policy]


def the_same_for_all(policy: Policy) -> PolicyFor:
    """`policy_for` when every case is compared against one policy (the current one)."""

    def policy_for(_case: PastCase) -> Policy:
        return policy

    return policy_for


def the_version_that_decided(texts: Mapping[str, str], current: Policy) -> PolicyFor:
    """`policy_for` comparing each case with the stored version that decided it (`texts`:
    version hash -> stored YAML), or with `current` for a case older than the stored
    versions or decided by one this code no longer loads."""
    decided_by: dict[str, Policy] = {current.version: current}
    for version, text in texts.items():
        if version in decided_by:
            continue
        try:
            decided_by[version] = parse_policy(text, f"version {version[:12]}")
        except PolicyError:
            continue

    def policy_for(case: PastCase) -> Policy:
        return decided_by.get(case.policy_version or "", current)

    return policy_for


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one policy says about one request before a human sees it."""

    outcome: str  # "approve" | "reject" | "route" | INVALID
    route: tuple[str, ...] = ()  # tier ids, in ladder order
    flags: tuple[str, ...] = ()
    reason: str | None = None  # why the request is INVALID under this policy

    @property
    def invalid(self) -> bool:
        return self.outcome == INVALID

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "outcome": self.outcome,
            "route": list(self.route),
            "flags": list(self.flags),
        }
        if self.reason is not None:
            shown["reason"] = self.reason
        return shown

    def describe(self) -> str:
        """`human: category-lead, finance-director`, `auto-approve`, `invalid: ...`."""
        if self.invalid:
            return f"invalid: {self.reason}"
        shown = _SHOWN.get(self.outcome, self.outcome)
        return f"{shown}: {', '.join(self.route)}" if self.route else shown


@dataclass(frozen=True, slots=True)
class Change:
    id: str
    before: Verdict
    after: Verdict

    @property
    def aspects(self) -> tuple[str, ...]:
        """Which of outcome, route and flags differ (an invalid draft verdict: "outcome")."""
        return _differences(self.before, self.after) or ("outcome",)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "before": self.before.as_dict(), "after": self.after.as_dict()}


@dataclass(frozen=True, slots=True)
class TierLoad:
    """How many of the backtested cases a tier would see."""

    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class BacktestReport:
    cases: int
    changes: tuple[Change, ...]  # in the order the cases were given
    load: Mapping[str, TierLoad]  # every tier of the policies compared, ladder order

    @property
    def changed(self) -> int:
        return len(self.changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "changed": self.changed,
            "changes": [change.as_dict() for change in self.changes],
            "load": {
                tier: {"before": load.before, "after": load.after}
                for tier, load in self.load.items()
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False)

    def to_text(self) -> str:
        return "\n".join(_text_lines(self))


class Evaluator:
    """Outcome, route and flags exactly as `policy.evaluate.evaluate` gives them, for many
    requests under a few policies, at a fraction of its cost.

    It runs the same parts: `request_problems`, `activation`, the compiled programs,
    `evaluate_condition` and the same combination of fired and skipped rules. It leaves out
    what a backtest does not report (the explanations of fired rules and who staffs each tier,
    which does not decide the tiers), gives each condition only the fields it reads (CEL's cost
    grows with the size of what it is given), and runs a condition once per request: a rule the
    draft keeps as it was has the same answer under both policies. The tests hold it to
    `evaluate` request for request.
    """

    def __init__(self) -> None:
        # by condition text: the same text compiles to the same program in any policy
        self._conditions: dict[str, tuple[Any, frozenset[str]]] = {}

    def verdict(
        self, request: ExceptionRequest, policy: Policy, memo: _Memo | None = None
    ) -> Verdict:
        """What `policy` says about `request`; INVALID with the reason, never an exception.

        `memo` carries condition answers between the policies compared for one request."""
        problems = request_problems(request, policy)
        if problems:
            return Verdict(INVALID, reason="; ".join(f"{f}: {m}" for f, m in problems))
        try:
            return self._decide(request, policy, memo if memo is not None else _Memo())
        except Exception as error:  # a backtest reports what it cannot evaluate, never stops
            return Verdict(INVALID, reason=f"cannot evaluate: {type(error).__name__}: {error}")

    def _decide(self, request: ExceptionRequest, policy: Policy, memo: _Memo) -> Verdict:
        requester = policy.find_person(request.requester)
        assert requester is not None  # request_problems checked it
        bound = memo.bound.get(requester.id)
        if bound is None:
            bound = memo.bound[requester.id] = activation(request, requester.id)
        fired: list[Rule] = []
        skipped: list[Rule] = []
        for rule in policy.rules:
            key = (requester.id, rule.when)
            if key in memo.answers:
                answer = memo.answers[key]
            else:
                answer = memo.answers[key] = self._answer(policy, rule, bound)
            if answer is None:
                skipped.append(rule)
            elif answer:
                fired.append(rule)
        outcome, route = combine(policy, fired, skipped)
        return Verdict(outcome.value, route, flags_of(fired))

    def _answer(self, policy: Policy, rule: Rule, bound: Mapping[str, Any]) -> bool | None:
        """Whether `rule` fires (None: skipped, its condition has no answer)."""
        program, reads = self._condition(policy, rule)
        try:
            return evaluate_condition(program, {k: v for k, v in bound.items() if k in reads})
        except ConditionError:
            return None

    def _condition(self, policy: Policy, rule: Rule) -> tuple[Any, frozenset[str]]:
        """The rule's program and the variables it reads (as the scanner and CEL see them)."""
        found = self._conditions.get(rule.when)
        if found is None:
            program = program_of(policy, rule)
            reads = {ref.name for ref in references(rule.when)} | set(program.variables())
            found = self._conditions[rule.when] = (program, frozenset(reads))
        return found


@dataclass(slots=True)
class _Memo:
    """One request's activations (by requester id) and condition answers (by requester id
    and condition text), shared by the policies it is evaluated under."""

    bound: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: dict[tuple[str, str], bool | None] = field(default_factory=dict)


def verdict(request: ExceptionRequest, policy: Policy) -> Verdict:
    """What `policy` says about `request` (see `Evaluator`)."""
    return Evaluator().verdict(request, policy)


def parse_stored(request: Mapping[str, Any]) -> ExceptionRequest | str:
    """The stored request as a model again, or why it no longer validates."""
    try:
        return ExceptionRequest.model_validate(request)
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'request'}: {e['msg']}"
            for e in error.errors(include_url=False)
        )
        return f"the stored request does not validate: {details}"


def compare(
    case: PastCase, before_policy: Policy, draft: Policy, evaluator: Evaluator | None = None
) -> tuple[Verdict, Verdict]:
    """(before, after) for one case."""
    request = parse_stored(case.request)
    if isinstance(request, str):
        stored = Verdict(INVALID, reason=request)
        return stored, stored
    evaluator = evaluator if evaluator is not None else Evaluator()
    memo = _Memo()
    before = evaluator.verdict(request, before_policy, memo)
    if before_policy is draft or before_policy.version == draft.version:
        return before, before  # the same content: the same answer
    return before, evaluator.verdict(request, draft, memo)


def is_change(before: Verdict, after: Verdict) -> bool:
    return after.invalid or bool(_differences(before, after))


def backtest(cases: Iterable[PastCase], policy_for: PolicyFor, draft: Policy) -> BacktestReport:
    """Every case under `policy_for(case)` and under `draft`: what changes, and the load."""
    count = 0
    changes: list[Change] = []
    before_load: dict[str, int] = {}
    after_load: dict[str, int] = {}
    ladders: dict[int, Policy] = {}  # the policies compared, first seen first, by identity
    evaluator = Evaluator()
    for case in cases:
        count += 1
        before_policy = policy_for(case)
        ladders.setdefault(id(before_policy), before_policy)
        before, after = compare(case, before_policy, draft, evaluator)
        for tier in before.route:
            before_load[tier] = before_load.get(tier, 0) + 1
        for tier in after.route:
            after_load[tier] = after_load.get(tier, 0) + 1
        if is_change(before, after):
            changes.append(Change(case.id, before, after))
    ladders.setdefault(id(draft), draft)
    tiers = dict.fromkeys(tier.id for policy in ladders.values() for tier in policy.tiers)
    tiers.update(dict.fromkeys([*before_load, *after_load]))  # none, unless hand-built
    load = {t: TierLoad(before_load.get(t, 0), after_load.get(t, 0)) for t in tiers}
    return BacktestReport(count, tuple(changes), load)


def _differences(before: Verdict, after: Verdict) -> tuple[str, ...]:
    if before.invalid or after.invalid:  # no route and no flags to compare
        same = (before.outcome, before.reason) == (after.outcome, after.reason)
        return () if same else ("outcome",)
    aspects = []
    if before.outcome != after.outcome:
        aspects.append("outcome")
    if before.route != after.route:
        aspects.append("route")
    if set(before.flags) != set(after.flags):
        aspects.append("flags")
    return tuple(aspects)


def _text_lines(report: BacktestReport) -> list[str]:
    lines = [_headline(report), "", "Approver load (cases each tier would see):"]
    width = max([len("tier"), *(len(tier) for tier in report.load)])
    lines.append(f"  {'tier':<{width}}  {'before':>7}  {'after':>7}  {'change':>7}")
    for tier, load in report.load.items():
        delta = f"{load.delta:+d}" if load.delta else "0"
        lines.append(f"  {tier:<{width}}  {load.before:>7}  {load.after:>7}  {delta:>7}")
    lines.append("")
    if not report.changes:
        lines.append("No case would change.")
        return lines
    moves = Counter(
        (_word(change.before), _word(change.after))
        for change in report.changes
        if "outcome" in change.aspects
    )
    if moves:
        lines.append("Outcome changes:")
        lines += [f"  {old} -> {new}: {n}" for (old, new), n in sorted(moves.items())]
        lines.append("")
    lines.append("Changes:")
    for change in report.changes:
        lines.append(f"  {change.id}  {change.before.describe()}")
        lines.append(f"  {'':<{len(change.id)}}  -> {change.after.describe()}")
        if "flags" in change.aspects:  # the route is in the lines above, the flags are not
            before = ", ".join(change.before.flags) or "none"
            after = ", ".join(change.after.flags) or "none"
            lines.append(f"  {'':<{len(change.id)}}  flags: {before} -> {after}")
    return lines


def _word(verdict: Verdict) -> str:
    return _SHOWN.get(verdict.outcome, verdict.outcome)


def _headline(report: BacktestReport) -> str:
    cases = f"{report.cases} case{'s' if report.cases != 1 else ''}"
    if not report.changes:
        return f"{cases} backtested: none would change."
    counts = {
        aspect: sum(aspect in change.aspects for change in report.changes)
        for aspect in ("outcome", "route", "flags")
    }
    invalid = sum(change.after.invalid for change in report.changes)
    parts = [f"{n} {aspect}" for aspect, n in counts.items() if n]
    if invalid:
        parts.append(f"{invalid} invalid under the draft")
    return f"{cases} backtested: {report.changed} would change ({', '.join(parts)})."

"""Rule conditions: CEL expressions over an exception request.

The variables a condition sees are exactly `KNOWN_FIELDS`:

- scalars: code, title, requester (the resolved person id), amount (a double), currency,
  category, cost_center, project_code, legal_entity, urgency;
- maps: supplier (id, name, risk_score, on_contract), budget (remaining), references and
  details (free keys), and aggregates (`aggregates.ID.amount`, `.count`: totals over recent
  cases that the policy declares, see `policy.aggregates`).

Absent fields. A request may leave out most fields, and policy must never guess:

- A condition that touches an absent field evaluates to an error: `amount > 25000.0`,
  `currency != "EUR"` and `supplier.risk_score >= 70` are all errors when that field is absent
  (a comparison with an absent scalar is an error even for `==`/`!=`, so `currency != "EUR"`
  does not quietly hold for a request without a currency).
- CEL's own error absorption applies: `false && <error>` is false and `true || <error>` is
  true, so a condition that does not need the absent field still decides.
- A rule whose condition ends in an error (or in a non-boolean) does not fire; evaluation
  reports it as a `RuleSkip` with a readable reason ("supplier.risk_score is absent from the
  request"). A missing field therefore never crashes evaluation and never fires a rule, and
  `policy.evaluate` does not auto-approve while a skipped rule could have routed or rejected.
- Authors test absence explicitly: `amount == null` / `amount != null` for the scalars, and
  `has(supplier.risk_score)` for map keys (`has(details.variance_pct)` and so on).

How: `activation` binds absent scalars to null and gives the maps only the keys present.
`compile_condition` rewrites the explicit absence tests (`amount == null`) into marker
variables, and `evaluate_condition` leaves absent scalars unbound, so any other use of them is
an error that CEL absorbs or propagates by its usual rules.

Numbers: `amount` and `budget.remaining` are doubles and `supplier.risk_score` an int.
Comparisons mix int and double freely (`amount > 25000` works) but arithmetic does not
(`amount * 2` is an error; write `amount * 2.0`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

import cel

from policy.celscan import (
    TYPE_NAMES,
    Reference,
    bound_names,
    references,
    rewrite_absence_tests,
)
from policy.request import ExceptionRequest

SCALAR_FIELDS = (
    "code",
    "title",
    "requester",
    "amount",
    "currency",
    "category",
    "cost_center",
    "project_code",
    "legal_entity",
    "urgency",
)
# `aggregates` is not a request field: totals over recent cases (`policy.aggregates`).
MAP_FIELDS = ("supplier", "budget", "references", "details", "aggregates")
KNOWN_FIELDS: frozenset[str] = frozenset(SCALAR_FIELDS + MAP_FIELDS)
# Maps with a fixed set of keys; references and details take any key.
FIXED_KEYS: Mapping[str, tuple[str, ...]] = {
    "supplier": ("id", "name", "risk_score", "on_contract"),
    "budget": ("remaining",),
}

# `amount == null` is compiled as `(__absent_amount)`; see the module docstring.
_ABSENT = "__absent_"
_LOCATED = re.compile(r"<input>:(\d+):(\d+): ([^\n]*)")
_OPERAND_SET = re.compile(r"expecting \{[^}]*IDENTIFIER\}")


class ConditionError(Exception):
    """A condition that does not compile, or could not be evaluated on a request."""

    def __init__(self, message: str, column: int | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column  # 1-based, within `line`, for syntax errors
        self.line = line  # 1-based line of the expression (most are one line)


def activation(
    request: ExceptionRequest,
    requester_id: str,
    aggregates: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The CEL variables for `request`, filed by the person `requester_id`, with the values
    of the policy's aggregates for it (those it has)."""
    bound: dict[str, Any] = {name: getattr(request, name, None) for name in SCALAR_FIELDS}
    bound["requester"] = requester_id
    bound["amount"] = None if request.amount is None else float(request.amount)
    bound["supplier"] = request.supplier.model_dump(exclude_none=True) if request.supplier else {}
    bound["budget"] = request.budget.model_dump(exclude_none=True) if request.budget else {}
    bound["references"] = dict(request.references)
    bound["details"] = dict(request.details)
    bound["aggregates"] = {name: dict(value) for name, value in (aggregates or {}).items()}
    return bound


def compile_condition(source: str) -> cel.Program:
    """Compile `source`; raise ConditionError with the position of a syntax error."""
    if not source.strip():
        raise ConditionError("the condition is empty", column=1, line=1)
    try:
        program = cel.compile(source)
    except ValueError as err:
        raise _syntax_error(str(err)) from None
    rewritten = rewrite_absence(source)
    return program if rewritten == source else cel.compile(rewritten)


def rewrite_absence(source: str) -> str:
    """`source` with its absence tests (`amount == null`) as marker variables."""
    return rewrite_absence_tests(source, SCALAR_FIELDS, _ABSENT)


def unknown_fields(source: str) -> list[tuple[str, int]]:
    """(message, 1-based column) for each reference to something a request does not have."""
    return [(message, column) for message, _, column in unknown_field_positions(source)]


def unknown_field_positions(source: str) -> list[tuple[str, int, int]]:
    """Like `unknown_fields`, as (message, line, column) for multi-line expressions."""
    found: list[tuple[str, int, int]] = []
    named: set[str] = set()
    for ref in references(source):
        named.add(ref.name)
        message = _unknown(ref)
        if message is not None:
            token = ref.field_token if ref.name in KNOWN_FIELDS and ref.field_token else ref.token
            found.append((message, token.line, token.column))
    # A safety net for anything the scanner missed: the compiler's own list of names.
    hidden = named | KNOWN_FIELDS | TYPE_NAMES | bound_names(source)
    for name in sorted(_compiled_variables(source) - hidden):
        found.append((f"unknown field {name!r}", 1, 1))
    return found


def evaluate_condition(program: cel.Program, bound: Mapping[str, Any]) -> bool:
    """Run a compiled condition; raise ConditionError saying why it has no true/false answer."""
    try:
        result = program.execute(with_absence_markers(bound))
    except Exception as err:  # the cel library raises many types; all mean "no answer"
        raise ConditionError(_reason(program.source, bound, err)) from None
    if not isinstance(result, bool):
        raise ConditionError(f"the condition gave {show_value(result)}, not true or false")
    return result


def field_values(source: str, bound: Mapping[str, Any]) -> list[tuple[str, Any, bool]]:
    """(path, value, present) for each request field `source` reads, first use first."""
    seen: dict[str, tuple[str, Any, bool]] = {}
    for ref in references(source):
        if ref.name in KNOWN_FIELDS and ref.path not in seen:
            present, value = lookup(ref, bound)
            seen[ref.path] = (ref.path, value, present)
    return list(seen.values())


def lookup(ref: Reference, bound: Mapping[str, Any]) -> tuple[bool, Any]:
    """(present, value) of the field `ref` reads in an activation."""
    value = bound.get(ref.name)
    if ref.name in SCALAR_FIELDS:
        return value is not None, value
    if ref.field is None or not isinstance(value, Mapping):
        return ref.name in bound, value
    return ref.field in value, value.get(ref.field)


def show_value(value: Any) -> str:
    """A value as CEL would write it: "text", 1.5, true, null, {"k": 1}."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, Mapping):
        items = ", ".join(f"{show_value(k)}: {show_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show_value(item) for item in value) + "]"
    return repr(value)


def with_absence_markers(bound: Mapping[str, Any]) -> dict[str, Any]:
    """An activation as a program from `compile_condition` reads it (see the docstring)."""
    prepared = dict(bound)
    for name in SCALAR_FIELDS:
        absent = prepared.get(name) is None
        prepared[_ABSENT + name] = absent
        if absent:
            prepared.pop(name, None)  # unbound: any use but `== null` is an error
    return prepared


def _compiled_variables(source: str) -> set[str]:
    try:
        return set(cel.compile(source).variables())
    except ValueError:
        return set()


def _unknown(ref: Reference) -> str | None:
    if ref.name not in KNOWN_FIELDS:
        if ref.name.startswith(_ABSENT):
            return f"unknown field {ref.name!r} (names starting with {_ABSENT!r} are reserved)"
        return f"unknown field {ref.name!r}{_suggest(ref.name, sorted(KNOWN_FIELDS))}"
    if ref.field is None:
        return None
    if ref.name in SCALAR_FIELDS:
        return f"{ref.name} has no fields, so {ref.path!r} does not exist"
    keys = FIXED_KEYS.get(ref.name)
    if keys is None or ref.field in keys:
        return None
    hint = _suggest(ref.field, list(keys)) or f" ({ref.name} has: {', '.join(keys)})"
    return f"unknown field {ref.path!r}{hint}"


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _syntax_error(text: str) -> ConditionError:
    located = _LOCATED.search(text)
    if located is None:
        first = text.splitlines()[0] if text else "the expression does not parse"
        return ConditionError(f"syntax error: {first}")
    line, column = int(located.group(1)), int(located.group(2))
    detail = _plain_syntax(located.group(3).removeprefix("Syntax error: "))
    where = f"line {line}, column {column}" if line > 1 else f"column {column}"
    return ConditionError(f"syntax error at {where}: {detail}", column=column, line=line)


def _plain_syntax(detail: str) -> str:
    """The parser's wording, with its token sets said in words."""
    detail = _OPERAND_SET.sub("expecting a value", detail)
    if detail.startswith("mismatched input '<EOF>'"):
        return "the expression ends too early (a value is missing)"
    unexpected = re.fullmatch(r"(?:mismatched|extraneous) input '(.*)' expecting (.*)", detail)
    if unexpected:
        token, wanted = unexpected.groups()
        if wanted == "<EOF>":
            return f"unexpected {token!r} after the end of the expression"
        return f"unexpected {token!r}, expecting {wanted}"
    unreadable = re.fullmatch(r"token recognition error at: '(.*)'", detail)
    if unreadable:
        hint = " (an unclosed quote?)" if unreadable.group(1).startswith(("'", '"')) else ""
        return f"cannot read {unreadable.group(1)!r}{hint}"
    return detail.replace("'<EOF>'", "the end")


def _reason(source: str, bound: Mapping[str, Any], err: Exception) -> str:
    """Why a condition has no answer, in the words of the request's fields."""
    absent: list[str] = []
    nulls: list[str] = []
    for ref in references(source):
        if ref.name not in KNOWN_FIELDS or ref.in_has:
            continue
        present, value = lookup(ref, bound)
        if not present and ref.path not in absent:
            absent.append(ref.path)
        elif present and value is None and ref.path not in nulls:
            nulls.append(ref.path)
    if absent:
        return f"{_and(absent)} {'is' if len(absent) == 1 else 'are'} absent from the request"
    if nulls:
        return f"{_and(nulls)} {'is' if len(nulls) == 1 else 'are'} null in the request"
    first = str(err).split(". ")[0].strip() or type(err).__name__
    return f"the condition could not be evaluated: {first}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

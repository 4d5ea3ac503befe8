"""Type checks of rule conditions, at policy load, against the request's declared fields.

The cel library has no type checker: `supplier.risk_score >= "70"` or a condition that gives
a number compiles, and then every evaluation fails and the rule is skipped for every request.
So each part of a condition (`policy.celparse`) is evaluated against *witnesses*: values of
the declared type of every field (`policy.request`: amount a double, supplier.risk_score an
int, ...). A part that raises a type error, or that must be true or false and is not, is a
mistake whatever the request.

- The operands of `&&`, `||` and `? :` are checked on their own, since CEL's lazy evaluation
  would otherwise hide an error in one (`false && <error>` is false).
- Free-form values (`details.*`, `references.*`) are dynamic: each key a part reads is tried
  as an int, a double, a string and a boolean, and the part is accepted if any works.
- Only type errors count. An error that depends on the value (a key that is absent, a division
  by zero, a bad date in `timestamp(details.due)`) says nothing about the types, so the part is
  accepted, as is anything this module cannot parse.
- `==`, `!=` and `in` do not fail across types (`supplier.risk_score == "70"` is just false),
  so their two sides are compared: a number is never equal to a string.
"""

from __future__ import annotations

import datetime
import itertools
import re
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import cel
from pydantic import BaseModel

from policy.celfunctions import STANDARD, Located
from policy.celparse import RELATIONS, Node, Unparsed, parse, text_of
from policy.celscan import Token, references
from policy.conditions import KNOWN_FIELDS, rewrite_absence, with_absence_markers
from policy.request import ExceptionRequest

__all__ = ["DYNAMIC", "WITNESSES", "type_problems"]

DYNAMIC_VALUES: tuple[object, ...] = (1, 1.0, "text", True)
_MAX_DYNAMIC_KEYS = 3  # 4**3 evaluations of a part at most; beyond, the part is accepted
_UNDEFINED = re.compile(r"Undefined variable or function: '([^']+)'")
_ORDERING = RELATIONS - {"==", "!=", "in"}


class _Dynamic:
    def __repr__(self) -> str:
        return "DYNAMIC"


DYNAMIC = _Dynamic()  # a field whose values are free-form


def _witness(annotation: Any) -> Any:
    """A value of the declared type `annotation`, or DYNAMIC."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _witness(options[0]) if len(options) == 1 else DYNAMIC
    if origin is Annotated:
        return _witness(get_args(annotation)[0])
    if origin is Literal:
        return get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = {name: _witness(f.annotation) for name, f in annotation.model_fields.items()}
        return {name: value for name, value in fields.items() if value is not DYNAMIC}
    simple: dict[Any, Any] = {bool: True, int: 1, float: 1.0, str: "text"}
    return simple.get(annotation, DYNAMIC)


# The value of every field a condition sees, of its declared type (`requester` is a person id).
WITNESSES: Mapping[str, Any] = {
    name: _witness(ExceptionRequest.model_fields[name].annotation)
    for name in sorted(KNOWN_FIELDS - {"aggregates"})
} | {"aggregates": {}}  # totals the policy declares: checked by `policy.aggregates` instead


@dataclass(frozen=True, slots=True)
class _Outcome:
    values: tuple[Any, ...]  # the results of the runs that worked
    error: Exception | None  # when no run worked and every one raised a type error

    @property
    def known(self) -> bool:
        return bool(self.values)


_UNKNOWN = _Outcome((), None)


def type_problems(source: str) -> list[Located]:
    """Type mistakes in the condition `source` (which compiled, with no unknown names)."""
    try:
        tokens, root = parse(source)
    except Unparsed:
        return []
    checker = _Checker(source, tokens, root)
    checker.walk(root, want_bool=True)
    return checker.problems


class _Checker:
    def __init__(self, source: str, tokens: list[Token], root: Node) -> None:
        self.source = source
        self.tokens = tokens
        self.problems: list[Located] = []
        self.outcomes: dict[tuple[int, int], _Outcome] = {}
        self.whole = {(root.first, root.last)}
        while root.kind == "group":
            root = root.children[0]
            self.whole.add((root.first, root.last))

    def walk(self, node: Node, *, want_bool: bool) -> None:
        if node.kind in ("and", "or"):
            for part in node.children:
                self.walk(part, want_bool=True)
        elif node.kind == "cond":
            condition, then, otherwise = node.children
            self.walk(condition, want_bool=True)
            self.walk(then, want_bool=want_bool)
            self.walk(otherwise, want_bool=want_bool)
        elif node.kind == "group":
            self.walk(node.children[0], want_bool=want_bool)
        elif node.kind == "unary" and node.op == "!":
            self.walk(node.children[0], want_bool=True)
        elif found := self.culprit(node):
            self.report(*found)
        elif message := self.result_problem(node, want_bool):
            self.report(node, message)
        else:
            for child in _parts(node):
                self.walk(child, want_bool=False)

    def report(self, node: Node, message: str) -> None:
        if (node.first, node.last) in self.whole:
            self.problems.append(Located(message))
        else:
            token = self.tokens[node.first]
            self.problems.append(Located(message, token.line, token.column))

    def text(self, node: Node) -> str:
        return text_of(self.source, self.tokens, node)

    def culprit(self, node: Node) -> tuple[Node, str] | None:
        """The innermost part of `node` with a type error, and what is wrong with it."""
        error = self.evaluate(node).error
        if error is None:
            return None
        for child in _parts(node):
            found = self.culprit(child)
            if found is not None:
                return found
        return node, self.describe(node, error)

    def result_problem(self, node: Node, want_bool: bool) -> str | None:
        """A part that works but whose value cannot be what its author meant."""
        values = self.evaluate(node).values
        if not values:
            return None
        if want_bool and not any(isinstance(value, bool) for value in values):
            gives = _kind(values[0])
            if (node.first, node.last) in self.whole:
                return f"the condition gives {gives}, not true or false"
            return f"{self.text(node)} gives {gives}, not true or false"
        if node.kind != "binary" or node.op not in ("==", "!=", "in"):
            return None
        left, right = (self.evaluate(child).values for child in node.children)
        if not left or not right:
            return None
        if node.op == "in":
            return self.membership(node, left, right)
        kinds, others = {_kind(v) for v in left}, {_kind(v) for v in right}
        if "null" in kinds | others or not kinds.isdisjoint(others):
            return None
        return f"{self.text(node)} compares {_kind(left[0])} with {_kind(right[0])}"

    def membership(self, node: Node, left: tuple[Any, ...], right: tuple[Any, ...]) -> str | None:
        if not all(isinstance(value, list | dict) for value in right):
            return None
        items = [item for container in right for item in container]
        kinds, others = {_kind(v) for v in left}, {_kind(v) for v in items}
        if not items or "null" in kinds | others or not kinds.isdisjoint(others):
            return None
        plural = _and(sorted(_PLURAL.get(kind, kind) for kind in others))
        where = f"a list of {plural}" if isinstance(right[0], list) else f"a map of {plural}"
        return f"{self.text(node)} looks for {_kind(left[0])} in {where}"

    def describe(self, node: Node, error: Exception) -> str:
        text = self.text(node)
        values = [self.evaluate(child).values for child in node.children]
        if node.kind == "call" and node.name in STANDARD and all(values):
            takes = _and([_type(value[0]) for value in values]) or "no value"
            return f"{text}: {node.name}() cannot take {takes}"
        if not values or not all(values):
            return f"{text} cannot be evaluated: {_first_sentence(error)}"
        first = values[0][0]
        if node.kind == "binary":
            return self.binary(node, first, values[1][0])
        if node.kind == "select" and not isinstance(first, dict):
            return f"{self.text(node.children[0])} is {_type(first)} and has no fields"
        if node.kind == "index":
            return f"{text}: cannot look up {_type(values[1][0])} in {_type(first)}"
        if node.kind == "unary":
            return f"{text}: {node.op} is not defined for {_type(first)}"
        return f"{text} cannot be evaluated: {_first_sentence(error)}"

    def binary(self, node: Node, left: Any, right: Any) -> str:
        text, op = self.text(node), node.op
        if op in _ORDERING:
            if _kind(left) != _kind(right):
                return f"{text} compares {_kind(left)} with {_kind(right)}"
            return f"{text}: {_PLURAL.get(_kind(left), _kind(left))} cannot be compared with {op}"
        if op == "in":
            if not isinstance(right, list | dict):
                return f"{text}: 'in' needs a list or a map on its right, not {_kind(right)}"
            return f"{text}: a map cannot have {_type(left)} as a key"
        if {_type(left), _type(right)} == {"an int", "a double"}:
            return (
                f"{text} mixes {_type(left)} and {_type(right)}: CEL does not convert "
                f"between them ({self.number_hint(node)})"
            )
        return f"{text}: {op} is not defined for {_type(left)} and {_type(right)}"

    def number_hint(self, node: Node) -> str:
        for child in node.children:
            literal = self.text(child)
            if child.kind == "atom" and literal.isdigit():
                return f"write {literal}.0 instead of {literal}"
        return "convert one side with double() or int()"

    def evaluate(self, node: Node) -> _Outcome:
        span = (node.first, node.last)
        if span not in self.outcomes:
            self.outcomes[span] = _evaluate(self.text(node))
        return self.outcomes[span]


def _parts(node: Node) -> tuple[Node, ...]:
    """The children of `node` that make sense on their own (not a comprehension's body)."""
    return node.children[:1] if node.is_macro else node.children


def _evaluate(text: str) -> _Outcome:
    try:
        program = cel.compile(rewrite_absence(text))
    except ValueError:
        return _UNKNOWN
    values: list[Any] = []
    type_error: Exception | None = None
    other_error = False
    for bound in _activations(text):
        try:
            values.append(program.execute(with_absence_markers(bound)))
        except Exception as err:  # the cel library raises many types
            if _is_type_error(err):
                type_error = type_error or err
            else:
                other_error = True
    failed = not values and not other_error
    return _Outcome(tuple(values), type_error if failed else None)


def _activations(text: str) -> Iterator[dict[str, Any]]:
    """The witnesses, with each free-form key `text` reads bound in turn to each kind."""
    typed = {name: value for name, value in WITNESSES.items() if value is not DYNAMIC}
    free = [name for name, value in WITNESSES.items() if value is DYNAMIC]
    keys = sorted(
        {(ref.name, ref.field) for ref in references(text) if ref.name in free and ref.field}
    )
    if len(keys) > _MAX_DYNAMIC_KEYS:
        return
    for choice in itertools.product(DYNAMIC_VALUES, repeat=len(keys)):
        bound: dict[str, Any] = {**typed, **{name: {} for name in free}}
        for (name, field), value in zip(keys, choice, strict=True):
            bound[name][field] = value
        yield bound


def _is_type_error(err: Exception) -> bool:
    if isinstance(err, TypeError):
        return True
    # The library says a standard function called on the wrong types is undefined.
    undefined = _UNDEFINED.match(str(err))
    return undefined is not None and undefined.group(1) in STANDARD


_PLURAL = {
    "a number": "numbers",
    "a string": "strings",
    "a boolean": "booleans",
    "a list": "lists",
    "a map": "maps",
    "a timestamp": "timestamps",
    "a duration": "durations",
}


def _kind(value: Any) -> str:
    """What a value is, for comparisons: int and double are both numbers."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return _type(value)


def _type(value: Any) -> str:
    kinds: list[tuple[type, str]] = [
        (bool, "a boolean"),
        (int, "an int"),
        (float, "a double"),
        (str, "a string"),
        (bytes, "bytes"),
        (list, "a list"),
        (dict, "a map"),
        (datetime.datetime, "a timestamp"),
        (datetime.timedelta, "a duration"),
    ]
    if value is None:
        return "null"
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def _first_sentence(err: Exception) -> str:
    return str(err).split(". ")[0].strip().rstrip(".") or type(err).__name__


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]

"""The functions a condition may call: CEL's standard ones that the cel library runs.

The library compiles a call to any name (`sizeof(details)`, `foo(amount)`) and only fails when
the rule is evaluated, so the rule would be skipped for every request. `STANDARD` lists the
standard functions and macros the library supports, each with the forms it accepts (`size(x)`
and `x.size()`, but only `x.startsWith(y)`, only `int(x)`), and an example of each form that
the tests evaluate, so the list stays true to the library.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

import cel

from policy.celscan import tokenize

_TS = 'timestamp("2026-03-04T05:06:07.008Z")'


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    function: str | None = None  # an example call as `name(...)`, if that form works
    method: str | None = None  # an example call as `x.name(...)`, if that form works


@dataclass(frozen=True, slots=True)
class Located:
    """A problem in a condition, at a 1-based line and column (None: the whole condition)."""

    message: str
    line: int | None = None
    column: int | None = None


def _standard(*functions: Function) -> Mapping[str, Function]:
    return {f.name: f for f in functions}


# Every example evaluates to true (see tests/policy/test_condition_functions.py).
STANDARD: Mapping[str, Function] = _standard(
    # Macros: expanded by the parser, so the compiled program does not list them.
    Function("has", function='has({"a": 1}.a)'),
    Function("all", method="[1, 2].all(x, x > 0)"),
    Function("exists", method="[1, 2].exists(x, x > 1)"),
    Function("exists_one", method="[1, 2].exists_one(x, x > 1)"),
    Function("map", method="[1, 2].map(x, x * 2) == [2, 4]"),
    Function("filter", method="[1, 2].filter(x, x > 1) == [2]"),
    # Size, strings.
    Function("size", function='size("ab") == 2', method='"ab".size() == 2'),
    Function("contains", method='"abc".contains("b")'),
    Function("startsWith", method='"abc".startsWith("a")'),
    Function("endsWith", method='"abc".endsWith("c")'),
    Function("matches", method='"abc".matches("^a.c$")'),
    # Conversions and types.
    Function("int", function="int(2.5) == 2"),
    Function("uint", function="uint(2) == 2u"),
    Function("double", function="double(2) == 2.0"),
    Function("string", function='string(2) == "2"'),
    Function("bytes", function='bytes("a") == b"a"'),
    Function("type", function="type(1) == int"),
    Function("dyn", function="dyn(1) == 1"),
    Function("duration", function='duration("1h") > duration("59m")'),
    Function("timestamp", function=f'{_TS} > timestamp("2026-01-01T00:00:00Z")'),
    # Parts of a timestamp (in UTC) or of a duration.
    Function("getFullYear", method=f"{_TS}.getFullYear() == 2026"),
    Function("getMonth", method=f"{_TS}.getMonth() == 2"),
    Function("getDate", method=f"{_TS}.getDate() == 4"),
    Function("getDayOfMonth", method=f"{_TS}.getDayOfMonth() == 3"),
    Function("getDayOfWeek", method=f"{_TS}.getDayOfWeek() == 3"),
    Function("getDayOfYear", method=f"{_TS}.getDayOfYear() == 62"),
    Function("getHours", method=f'{_TS}.getHours() == 5 && duration("2h").getHours() == 2'),
    Function("getMinutes", method=f"{_TS}.getMinutes() == 6"),
    Function("getSeconds", method=f"{_TS}.getSeconds() == 7"),
    Function("getMilliseconds", method=f"{_TS}.getMilliseconds() == 8"),
)
_OPERATOR = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")  # `_+_`, `@in`, `!_` are operators


def function_problems(source: str) -> list[Located]:
    """Calls in `source` to a function that is not standard, or in a form it does not take."""
    tokens = tokenize(source)
    found: list[Located] = []
    called: set[str] = set()
    for index, token in enumerate(tokens):
        following = tokens[index + 1].text if index + 1 < len(tokens) else None
        if token.kind != "ident" or following != "(":
            continue
        called.add(token.text)
        as_method = index > 0 and tokens[index - 1].text == "."
        message = _call_problem(token.text, as_method)
        if message is not None:
            found.append(Located(message, token.line, token.column))
    # A safety net for any call the scan missed: the compiler's own list.
    for name in sorted(_compiled_functions(source) - called - set(STANDARD)):
        found.append(Located(f"unknown function {name!r}", 1, 1))
    return found


def _call_problem(name: str, as_method: bool) -> str | None:
    spec = STANDARD.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, sorted(STANDARD), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown function {name!r}{hint}"
    if as_method and spec.method is None:
        return f"{name}() is a function, not a method: write {name}(x), not x.{name}()"
    if not as_method and spec.function is None:
        return f"{name}() is a method: write x.{name}(...), not {name}(x, ...)"
    return None


def _compiled_functions(source: str) -> set[str]:
    try:
        names = cel.compile(source).functions()
    except ValueError:
        return set()
    return {name for name in names if _OPERATOR.match(name)}

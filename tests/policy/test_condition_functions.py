"""The allow-list of functions matches what the cel library really runs."""

from __future__ import annotations

import cel
import pytest

from policy.celfunctions import STANDARD, function_problems


def messages(source: str) -> list[str]:
    return [problem.message for problem in function_problems(source)]


@pytest.mark.parametrize(
    "example",
    [
        example
        for function in STANDARD.values()
        for example in (function.function, function.method)
        if example is not None
    ],
)
def test_every_allowed_form_runs_in_the_library(example: str) -> None:
    assert cel.evaluate(example) is True
    assert function_problems(example) == []


def test_every_function_has_an_example() -> None:
    for function in STANDARD.values():
        assert function.function or function.method, function.name
        for example in (function.function, function.method):
            assert example is None or f"{function.name}(" in example


@pytest.mark.parametrize(
    ("refused", "message"),
    [
        ('startsWith("ab", "a")', "startsWith() is a method: write x.startsWith(...), not "),
        ('matches("ab", "a")', "matches() is a method"),
        ("getFullYear(timestamp('2026-01-01T00:00:00Z')) == 2026", "getFullYear() is a method"),
        ('"2".int() == 2', "int() is a function, not a method: write int(x), not x.int()"),
        ("bool('true')", "unknown function 'bool'"),
        ("max(1, 2) == 2", "unknown function 'max'"),
        ("'A'.lowerAscii() == 'a'", "unknown function 'lowerAscii'"),
    ],
)
def test_forms_the_library_does_not_run_are_refused(refused: str, message: str) -> None:
    with pytest.raises(Exception):  # noqa: B017, PT011 (the library raises many types)
        cel.evaluate(refused)
    [found] = messages(refused)
    assert found.startswith(message)


def test_unknown_functions_have_columns_and_hints() -> None:
    problems = function_problems("amount > 1.0 && sizeof(details) > 2 && code.startswth('A')")
    assert [(p.message, p.line, p.column) for p in problems] == [
        ("unknown function 'sizeof' (did you mean 'size'?)", 1, 17),
        ("unknown function 'startswth' (did you mean 'startsWith'?)", 1, 45),
    ]


def test_macros_and_names_that_are_not_calls_are_fine() -> None:
    source = "has(details.x) && [1].exists(x, x > 0) && details.size > 1 && size(details) > 0"
    assert messages(source) == []

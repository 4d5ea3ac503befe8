"""Conditions are type checked at load: a rule that could never decide is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy.condition_types import DYNAMIC, WITNESSES, type_problems
from policy.loader import PolicyError, PolicyProblem, load_policy, parse_policy
from tests.policy.helpers import EXAMPLE, VALID, line_of

DATA = Path(__file__).parents[1] / "data"
WHEN = "when: amount > 25000.0"


def with_when(condition: str) -> str:
    assert WHEN in VALID
    return VALID.replace(WHEN, f"when: {condition}", 1)


def refused(condition: str) -> PolicyProblem:
    with pytest.raises(PolicyError) as raised:
        parse_policy(with_when(condition), "p.yaml")
    problems = raised.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def messages(condition: str) -> list[str]:
    return [problem.message for problem in type_problems(condition)]


# --- the reproductions, refused by the loader ------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (
            'supplier.risk_score >= "70"',
            'supplier.risk_score >= "70" compares a number with a string',
        ),
        ("supplier.risk_score", "the condition gives a number, not true or false"),
        ("sizeof(details) > 2", "column 1: unknown function 'sizeof' (did you mean 'size'?)"),
        ("foo(amount)", "column 1: unknown function 'foo'"),
    ],
)
def test_the_reported_mistakes_are_refused_with_file_line_and_rule(
    condition: str, message: str
) -> None:
    problem = refused(condition)
    line = line_of(VALID, WHEN)
    assert (problem.source, problem.line, problem.where) == (
        "p.yaml",
        line,
        "rules[high-value].when",
    )
    assert problem.message == message
    assert str(problem) == f"p.yaml:{line}: rules[high-value].when: {message}"


def test_load_policy_refuses_them_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    text = with_when("amount > 1.0 && supplier.risk_score >= '70'")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    assert [str(p) for p in raised.value.problems] == [
        f"{path}:{line_of(text, 'when:')}: rules[high-value].when: column 17: "
        "supplier.risk_score >= '70' compares a number with a string"
    ]


def test_every_rule_is_checked() -> None:
    text = with_when("amount * 2 > 50000.0").replace(
        "defaults:",
        "  - id: risky\n    when: supplier.risk_score\n    outcome: reject\ndefaults:",
    )
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, "p.yaml")
    assert [(p.where, p.message) for p in raised.value.problems] == [
        (
            "rules[high-value].when",
            "column 1: amount * 2 mixes a double and an int: CEL does not convert between "
            "them (write 2.0 instead of 2)",
        ),
        ("rules[risky].when", "the condition gives a number, not true or false"),
    ]


def test_unknown_fields_are_reported_without_type_noise() -> None:
    problem = refused('supplier.rating >= "70"')
    assert problem.message.startswith("column 10: unknown field 'supplier.rating'")


# --- what is wrong, in words -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        # An error after `&&` / `||` is found even though CEL would not evaluate it.
        (
            "amount > 1.0 && supplier.risk_score >= '70'",
            "supplier.risk_score >= '70' compares a number with a string",
        ),
        ("true || code > 1", "code > 1 compares a string with a number"),
        (
            "amount > 1.0 && supplier.risk_score",
            "supplier.risk_score gives a number, not true or false",
        ),
        ("!amount", "amount gives a number, not true or false"),
        ("amount ? true : false", "amount gives a number, not true or false"),
        ("code", "the condition gives a string, not true or false"),
        ("(supplier.risk_score + 1)", "the condition gives a number, not true or false"),
        # == and != do not fail across types; they are just never true.
        (
            'supplier.risk_score == "70"',
            'supplier.risk_score == "70" compares a number with a string',
        ),
        (
            "supplier.on_contract != 'yes'",
            "supplier.on_contract != 'yes' compares a boolean with a string",
        ),
        ("code in [1, 2]", "code in [1, 2] looks for a string in a list of numbers"),
        ("amount in 5", "amount in 5: 'in' needs a list or a map on its right, not a number"),
        ("budget.remaining < supplier", "budget.remaining < supplier compares a number with a map"),
        ("size(amount) > 1", "size(amount): size() cannot take a double"),
        (
            'amount.startsWith("1")',
            'amount.startsWith("1"): startsWith() cannot take a double and a string',
        ),
        ("supplier.risk_score.level > 1", "supplier.risk_score is an int and has no fields"),
        ("-code == 'x'", "-code: - is not defined for a string"),
        ("code + 1 == 'x'", "code + 1: + is not defined for a string and an int"),
        ("details.x.y == 1", "details.x is an int and has no fields"),  # details are flat
    ],
)
def test_type_mistakes(condition: str, message: str) -> None:
    assert messages(condition) == [message]


def test_parts_have_their_line_and_column() -> None:
    [problem] = type_problems("amount > 1.0 &&\n  supplier.risk_score >= '70'")
    assert (problem.line, problem.column) == (2, 3)
    [whole] = type_problems("supplier.risk_score")
    assert (whole.line, whole.column) == (None, None)


# --- valid conditions keep loading -------------------------------------------------------------


@pytest.mark.parametrize(
    "condition",
    [
        "true",
        "amount > 25000",  # int and double compare
        "supplier.risk_score >= 70 && supplier.risk_score < 95.5",
        "supplier.on_contract == false",
        "!supplier.on_contract",
        "has(budget.remaining) && budget.remaining < amount",
        "has(supplier.risk_score) && supplier.risk_score >= 95",
        'code == "URGENT_REQUEST" || (urgency != null && urgency == "critical")',
        "amount == null || amount > 5.0",
        "null != currency && currency != 'EUR'",
        "supplier.risk_score != null",
        # Free-form values are dynamic: any kind may be there.
        'code == "PRICE_MISMATCH" && details.variance_pct <= 2.0',
        "has(details.blocked) && details.blocked",
        'details["po"] == "4500" || details.count + 1 > 2 || details.rate * 2.0 > 1.0',
        'has(details.route) && details.route == "dual"',
        "details.flag",
        'references.po.startsWith("45") && "po" in references',
        'timestamp(details.due) < timestamp("2026-01-01T00:00:00Z")',
        "int(details.qty) > 3",
        "size(details) > 2 && details.exists(k, k.startsWith('x'))",
        # Lists, strings, conversions, macros.
        'code in ["OFF_CONTRACT", "PRICE_MISMATCH"] && urgency in ["high", "critical"]',
        "supplier.risk_score in [70, 80]",
        'title.startsWith("Laptop") && title.endsWith("s") && title.contains("top")',
        'title.matches("^[A-Z]") && size(title) > 3 && title.size() < 300',
        "[1, 2].exists(x, x > 1) && [code].all(c, c != '')",
        "type(amount) == double && dyn(supplier.risk_score) > 1",
        "int(amount) > 1 && double(supplier.risk_score) > 1.0 && string(amount) != ''",
        "amount * 2.0 > 50000.0",
        'duration("2h") > duration("1h")',
        "supplier.risk_score >= 70 ? amount > 5.0 : code == 'x'",
        "1 / 0 == 1",  # a value error, not a type error: left to run time
        "amount > 1.0 // a comment\n && code != ''",
    ],
)
def test_valid_conditions_load(condition: str) -> None:
    assert messages(condition) == []
    policy = parse_policy(with_when(json.dumps(condition)), "p.yaml")  # JSON: a YAML string
    assert policy.rules[0].when == condition


def test_the_bundled_and_test_policies_load() -> None:
    assert load_policy(EXAMPLE).rules
    for path in sorted(DATA.glob("*.yaml")):
        assert load_policy(path).rules


def test_witnesses_follow_the_request_types() -> None:
    assert isinstance(WITNESSES["amount"], float)
    assert type(WITNESSES["supplier"]["risk_score"]) is int
    assert WITNESSES["supplier"]["on_contract"] is True
    assert isinstance(WITNESSES["currency"], str)
    assert isinstance(WITNESSES["budget"]["remaining"], float)
    assert WITNESSES["urgency"] in ("low", "normal", "high", "critical")
    assert WITNESSES["details"] is DYNAMIC
    assert WITNESSES["references"] is DYNAMIC

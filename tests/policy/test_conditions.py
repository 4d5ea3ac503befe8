from __future__ import annotations

from typing import Any

import pytest

from policy.conditions import (
    KNOWN_FIELDS,
    ConditionError,
    activation,
    compile_condition,
    evaluate_condition,
    unknown_fields,
)
from tests.policy.helpers import request


def run(source: str, **fields: Any) -> bool:
    return evaluate_condition(compile_condition(source), activation(request(**fields), "rita"))


def reason(source: str, **fields: Any) -> str:
    with pytest.raises(ConditionError) as raised:
        run(source, **fields)
    return raised.value.message


def test_known_fields_are_exactly_the_request_variables_and_the_aggregates() -> None:
    assert set(KNOWN_FIELDS) == {
        "aggregates",
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
        "supplier",
        "budget",
        "references",
        "details",
    }


def test_activation_binds_absent_scalars_to_null_and_only_present_map_keys() -> None:
    bound = activation(request(amount=12, supplier={"risk_score": 40}), "rita")
    assert bound["amount"] == 12.0
    assert isinstance(bound["amount"], float)
    assert bound["currency"] is None
    assert bound["requester"] == "rita"
    assert bound["supplier"] == {"risk_score": 40}
    assert bound["budget"] == {}
    assert set(bound) == KNOWN_FIELDS


def test_requester_is_the_resolved_person_id() -> None:
    bound = activation(request(requester="rita@acme.example"), "rita")
    assert evaluate_condition(compile_condition('requester == "rita"'), bound)


def test_conditions_see_the_request() -> None:
    assert run("amount > 25000.0", amount=30000.0)
    assert run("amount > 25000", amount=30000.0)  # int and double compare
    assert not run("supplier.risk_score >= 70", supplier={"risk_score": 69})
    assert run(
        'details.variance_pct <= 2.0 && references.po == "4500"',
        details={"variance_pct": 1},
        references={"po": "4500"},
    )


def test_absent_fields_are_errors_with_a_readable_reason() -> None:
    assert reason("amount > 25000.0") == "amount is absent from the request"
    assert reason("supplier.risk_score >= 70") == ("supplier.risk_score is absent from the request")
    assert reason("details.x == 1 || budget.remaining > 0.0") == (
        "details.x and budget.remaining are absent from the request"
    )


def test_equality_with_an_absent_scalar_is_an_error_too() -> None:
    # Otherwise `currency != "EUR"` would quietly hold for a request without a currency.
    assert reason('currency != "EUR"') == "currency is absent from the request"


def test_absence_can_be_tested() -> None:
    assert run("amount == null")
    assert not run("amount != null")
    assert run("amount != null", amount=1.0)
    assert not run("has(supplier.risk_score)")
    assert run("has(supplier.risk_score)", supplier={"risk_score": 1})
    assert not run("urgency != null && urgency == 'critical'")


def test_cel_error_absorption_applies() -> None:
    assert run("true || amount > 1.0")
    assert not run("false && amount > 1.0")
    assert run("amount > 1.0 || true")


def test_null_detail_values_are_named() -> None:
    assert reason("details.x > 1", details={"x": None}) == "details.x is null in the request"


def test_non_boolean_results_are_errors() -> None:
    assert reason("code") == 'the condition gave "OFF_CONTRACT", not true or false'


def test_other_evaluation_errors_keep_the_library_message() -> None:
    assert reason("1 / 0 == 1").startswith("the condition could not be evaluated: division")


@pytest.mark.parametrize(
    ("source", "column", "text"),
    [
        ("amount >", 9, "the expression ends too early"),
        ("amount > 1.0 &&", 16, "the expression ends too early"),
        ("a +* b", 4, "unexpected '*', expecting a value"),
        ("a == 'x", 6, "an unclosed quote"),
    ],
)
def test_syntax_errors_carry_the_column(source: str, column: int, text: str) -> None:
    with pytest.raises(ConditionError) as raised:
        compile_condition(source)
    assert raised.value.column == column
    assert raised.value.line == 1
    assert f"syntax error at column {column}: " in raised.value.message
    assert text in raised.value.message
    assert "<input>" not in raised.value.message


def test_syntax_errors_on_later_lines_name_the_line() -> None:
    with pytest.raises(ConditionError, match=r"line 2, column 4: unexpected '\)' after the end"):
        compile_condition("1 +\n 2 )")


def test_empty_condition_is_an_error() -> None:
    with pytest.raises(ConditionError, match="empty"):
        compile_condition("  ")


def test_unknown_fields_have_columns_and_hints() -> None:
    assert unknown_fields("supplier.rsk_score > 3 && amout > 1.0 && budget.left > 0.0") == [
        ("unknown field 'supplier.rsk_score' (did you mean 'risk_score'?)", 10),
        ("unknown field 'amout' (did you mean 'amount'?)", 27),
        ("unknown field 'budget.left' (budget has: remaining)", 49),
    ]


def test_unknown_fields_ignore_macro_variables_and_free_maps() -> None:
    assert unknown_fields("[1].exists(q, q > 0) && details.anything && references.po") == []
    assert unknown_fields("details.exists(k, k == 'x') && k") == [("unknown field 'k'", 32)]


def test_scalars_have_no_fields() -> None:
    assert unknown_fields("amount.value > 1.0") == [
        ("amount has no fields, so 'amount.value' does not exist", 8)
    ]

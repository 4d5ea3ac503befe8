"""Aggregates in the policy: declared, validated like everything else, read by conditions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from policy.aggregates import Aggregate, Totals, match_values, use_problems
from policy.evaluate import evaluate
from policy.loader import PolicyError, parse_policy
from policy.request import ExceptionRequest
from tests.conftest import TEST_POLICY

TEXT = TEST_POLICY.read_text(encoding="utf-8")
SAME_SUPPLIER = Aggregate("same_supplier_7d", timedelta(days=7), ("requester", "supplier.id"))


def with_aggregates(aggregates: str, when: str = "aggregates.same_supplier_7d.count > 1") -> str:
    rule = f"  - {{id: split, when: '{when}', route: [finance-director]}}\ndefaults:"
    return TEXT.replace("defaults:", rule, 1) + f"\naggregates:\n{aggregates}"


GOOD = "  - {id: same_supplier_7d, window: 7d, match: [requester, supplier.id]}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as failed:
        parse_policy(text, "p.yaml")
    return [p.message for p in failed.value.problems]


def test_a_declared_aggregate_loads_and_changes_the_version() -> None:
    policy = parse_policy(with_aggregates(GOOD), "p.yaml")
    assert policy.aggregates == (SAME_SUPPLIER,)
    no_rule = parse_policy(TEXT + f"\naggregates:\n{GOOD}", "p.yaml")
    assert no_rule.version != parse_policy(TEXT, "p.yaml").version


@pytest.mark.parametrize(
    ("aggregates", "when", "message"),
    [
        (GOOD, "aggregates.other.amount > 1.0", "unknown aggregate 'other'"),
        (GOOD, "aggregates.same_supplier_7d.total > 1.0", "has amount and count, not 'total'"),
        (GOOD, "aggregates.same_supplier_7d > 1", "read aggregates.same_supplier_7d.amount or"),
        ("  - {id: bad-id, window: 7d, match: [requester]}\n", "true", "not a valid aggregate id"),
        ("  - {id: a, window: 7d, match: [colour]}\n", "true", "cannot match on 'colour'"),
        ("  - {id: a, window: 7d, match: []}\n", "true", "at least 1 item"),
        ("  - {id: a, window: soon, match: [requester]}\n", "true", "soon"),
        (GOOD + GOOD, "true", "duplicate aggregate id"),
    ],
)
def test_policy_check_names_each_mistake(aggregates: str, when: str, message: str) -> None:
    found = problems(with_aggregates(aggregates, when))
    assert any(message in p for p in found), found


def test_match_values_need_every_field_and_the_currency() -> None:
    request = {"requester": "rita", "supplier": {"id": "SUP-1"}, "currency": "EUR"}
    assert match_values(SAME_SUPPLIER, request) == {
        "requester": "rita",
        "supplier.id": "SUP-1",
        "currency": "EUR",
    }
    assert match_values(SAME_SUPPLIER, {**request, "currency": None}) is None
    assert match_values(SAME_SUPPLIER, {**request, "supplier": {"name": "Acme"}}) is None


def test_conditions_read_the_totals_and_skip_without_them() -> None:
    policy = parse_policy(with_aggregates(GOOD, "aggregates.same_supplier_7d.amount > 1000.0"), "p")
    request = ExceptionRequest(code="OFF_CONTRACT", title="x", requester="rita", amount=5.0)
    totals = Totals(2, 1300.0, (1, 2))
    fired = evaluate(request, policy, aggregates={"same_supplier_7d": totals.bound()})
    assert "split" in [hit.rule_id for hit in fired.fired]
    assert (totals.amount, totals.count) == (1300.0, 2)
    skipped = evaluate(request, policy)
    assert "split" in [skip.rule_id for skip in skipped.skipped]
    assert use_problems("aggregates.same_supplier_7d.count > 0", ["same_supplier_7d"]) == []

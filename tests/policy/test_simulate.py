from __future__ import annotations

from policy.evaluate import evaluate
from policy.loader import load_policy
from policy.simulate import describe
from tests.policy.helpers import EXAMPLE, request


def test_describe_shows_route_people_rules_and_reasons() -> None:
    policy = load_policy(EXAMPLE)
    req = request(requester="priya", amount=32000.0, supplier={"on_contract": False})
    text = describe(evaluate(req, policy), policy)
    assert "Outcome: route to approvers" in text
    assert "Exception: Purchase from a supplier without a contract" in text
    assert (
        "1. category-lead: Lee Park (lee), Sam Novak (sam); mode any, 1 of 2 required; SLA 4h"
        in text
    )
    assert "2. finance-director: Dana Reyes (dana)" in text
    assert (
        "  - high-value -> category-lead, finance-director: amount > 25000.0 (amount = 32000.0)"
        in text
    )
    assert "      policy: Procurement Policy 4.2, purchases above 25,000 https://" in text
    assert "  - supplier-risk: supplier.risk_score is absent from the request" in text
    assert "Flags: high-value, off-contract" in text
    assert "Rationale: required" in text
    assert f"Policy version: {policy.version}" in text


def test_describe_an_automatic_decision() -> None:
    policy = load_policy(EXAMPLE)
    req = request(
        code="PRICE_MISMATCH",
        requester="omar",
        amount=900.0,
        details={"variance_pct": 1.2},
        supplier={"risk_score": 10, "on_contract": True},
    )
    text = describe(evaluate(req, policy), policy)
    assert text.startswith("Outcome: approved by policy (no approver)\n")
    assert "Route:" not in text
    assert "within-tolerance -> approve" in text


def test_describe_says_why_auto_approval_was_withheld() -> None:
    policy = load_policy(EXAMPLE)
    req = request(
        code="PRICE_MISMATCH", requester="omar", amount=900.0, details={"variance_pct": 1.2}
    )
    text = describe(evaluate(req, policy), policy)
    assert "Auto-approval withheld" in text
    assert "  - blocked-supplier: supplier.risk_score is absent from the request" in text

from __future__ import annotations

import pytest

from policy.evaluate import evaluate, request_problems
from policy.model import Outcome, RuleSkip
from tests.policy.helpers import request, with_rules

COMBINED = """\
  - {id: route-t3, when: amount > 100.0, route: [t3, t1], ref: Policy 3, flags: [big, risk]}
  - {id: route-t2, when: amount > 10.0, route: [t2, t1], ref: Policy 2, url: https://p/2,
     flags: [risk, mid], rationale: required}
  - {id: approve-small, when: amount < 1000.0, outcome: approve, ref: Tolerance}
  - {id: reject-blocked, when: 'has(details.blocked) && details.blocked', outcome: reject}
"""


def test_the_route_is_the_union_in_ladder_order_without_repeats() -> None:
    result = evaluate(request(amount=500.0), with_rules(COMBINED))
    assert result.outcome is Outcome.ROUTE
    assert [step.tier for step in result.route] == ["t1", "t2", "t3"]


def test_refs_flags_and_rationale_travel_with_the_case() -> None:
    result = evaluate(request(amount=500.0), with_rules(COMBINED))
    assert [hit.rule_id for hit in result.fired] == ["route-t3", "route-t2", "approve-small"]
    assert [(hit.ref, hit.url) for hit in result.fired[:2]] == [
        ("Policy 3", None),
        ("Policy 2", "https://p/2"),
    ]
    assert result.flags == ("big", "risk", "mid")
    assert result.rationale_required
    assert [hit.rule_id for hit in result.deciding_rules] == ["route-t3", "route-t2"]


def test_reject_beats_every_route() -> None:
    result = evaluate(request(amount=500.0, details={"blocked": True}), with_rules(COMBINED))
    assert result.outcome is Outcome.REJECT
    assert result.route == ()
    assert [hit.rule_id for hit in result.deciding_rules] == ["reject-blocked"]
    assert result.flags == ("big", "risk", "mid")  # every firing rule's flags, still


def test_approve_only_when_no_firing_rule_routes() -> None:
    result = evaluate(request(amount=5.0), with_rules(COMBINED))
    assert result.outcome is Outcome.APPROVE
    assert result.route == ()
    assert [hit.rule_id for hit in result.deciding_rules] == ["approve-small"]
    assert not result.rationale_required


def test_defaults_when_nothing_fires() -> None:
    result = evaluate(
        request(amount=5000.0),
        with_rules(COMBINED.replace("amount > 100.0", "false").replace("amount > 10.0", "false")),
    )
    assert result.fired == ()
    assert result.outcome is Outcome.ROUTE
    assert [step.tier for step in result.route] == ["t1"]


def test_route_steps_name_their_approvers() -> None:
    step = evaluate(request(amount=500.0), with_rules(COMBINED)).route[1]
    assert (step.tier, step.approvers, step.required, step.sla.total_seconds()) == (
        "t2",
        ("dana",),
        1,
        86400,
    )


def test_hits_explain_themselves_with_the_values_they_saw() -> None:
    policy = with_rules(
        "  - {id: big, when: 'amount > 25000.0 && supplier.risk_score >= 70', route: [t2]}\n"
    )
    result = evaluate(request(amount=30000, supplier={"risk_score": 80}), policy)
    assert result.fired[0].explanation == (
        "amount > 25000.0 && supplier.risk_score >= 70 (amount = 30000.0, supplier.risk_score = 80)"
    )


def test_title_and_version_come_from_the_policy() -> None:
    policy = with_rules(COMBINED)
    result = evaluate(request(code="PRICE_MISMATCH", amount=5.0), policy)
    assert result.exception_title == "Invoice price differs from the PO"
    assert result.policy_version == policy.version


# --- absent fields --------------------------------------------------------------------------


def test_an_absent_field_skips_the_rule_with_a_reason_and_falls_to_people() -> None:
    result = evaluate(request(), with_rules(COMBINED))
    assert result.outcome is Outcome.ROUTE
    assert [step.tier for step in result.route] == ["t1"]
    assert result.skipped == (
        RuleSkip("route-t3", "amount is absent from the request"),
        RuleSkip("route-t2", "amount is absent from the request"),
        RuleSkip("approve-small", "amount is absent from the request"),
    )


def test_error_absorption_lets_a_rule_fire() -> None:
    policy = with_rules(
        "  - {id: any, when: 'code == \"OFF_CONTRACT\" || amount > 1.0', route: [t2]}\n"
    )
    result = evaluate(request(), policy)
    assert [hit.rule_id for hit in result.fired] == ["any"]
    assert result.fired[0].explanation.endswith('(code = "OFF_CONTRACT", amount absent)')


def test_has_tests_presence() -> None:
    policy = with_rules(
        "  - id: risky\n"
        "    when: has(supplier.risk_score) && supplier.risk_score > 50\n"
        "    route: [t3]\n"
    )
    assert evaluate(request(), policy).skipped == ()
    assert evaluate(request(supplier={"risk_score": 60}), policy).route[-1].tier == "t3"


def test_a_skipped_rule_that_could_reject_withholds_auto_approval() -> None:
    policy = with_rules(
        "  - {id: ok, when: 'code == \"PRICE_MISMATCH\"', outcome: approve}\n"
        "  - {id: blocked, when: supplier.risk_score >= 95, outcome: reject}\n"
    )
    result = evaluate(request(code="PRICE_MISMATCH"), policy)
    assert result.outcome is Outcome.ROUTE
    assert [step.tier for step in result.route] == ["t1"]
    assert [skip.rule_id for skip in result.skipped] == ["blocked"]
    approved = evaluate(request(code="PRICE_MISMATCH", supplier={"risk_score": 3}), policy)
    assert approved.outcome is Outcome.APPROVE


def test_a_skipped_approve_rule_does_not_withhold_another_approval() -> None:
    policy = with_rules(
        "  - {id: ok, when: 'code == \"PRICE_MISMATCH\"', outcome: approve}\n"
        "  - {id: small, when: amount < 5.0, outcome: approve}\n"
    )
    assert evaluate(request(code="PRICE_MISMATCH"), policy).outcome is Outcome.APPROVE


# --- request problems -----------------------------------------------------------------------


def test_request_problems_name_the_field() -> None:
    policy = with_rules(COMBINED)
    assert request_problems(request(code="NOPE", requester="zed@x.example"), policy) == [
        ("code", "unknown exception code 'NOPE'; known codes: OFF_CONTRACT, PRICE_MISMATCH"),
        ("requester", "'zed@x.example' is neither a person id nor an email in the policy"),
    ]


def test_requester_may_be_an_email() -> None:
    policy = with_rules(COMBINED)
    assert request_problems(request(requester="Rita@Acme.example"), policy) == []
    result = evaluate(request(requester="Rita@Acme.example", amount=500.0), policy)
    assert result.outcome is Outcome.ROUTE


def test_evaluate_refuses_a_request_with_problems() -> None:
    with pytest.raises(ValueError, match="unknown exception code 'NOPE'"):
        evaluate(request(code="NOPE"), with_rules(COMBINED))

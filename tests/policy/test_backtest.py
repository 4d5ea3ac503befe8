"""policy.backtest: past requests under a draft next to the policy before it (pure)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from policy.backtest import (
    INVALID,
    BacktestReport,
    Evaluator,
    PastCase,
    TierLoad,
    Verdict,
    backtest,
    compare,
    the_same_for_all,
    the_version_that_decided,
)
from policy.evaluate import evaluate, request_problems
from policy.loader import load_policy, parse_policy
from policy.model import Policy
from policy.request import ExceptionRequest
from tests.conftest import TEST_POLICY
from tests.policy.helpers import EXAMPLE, with_rules

TEXT = TEST_POLICY.read_text(encoding="utf-8")
BEFORE = parse_policy(TEXT, "policy.yaml")
TIERS = ("category-lead", "dual-control", "all-leads", "finance-director", "stand-in")


def draft(old: str, new: str) -> Policy:
    assert old in TEXT
    return parse_policy(TEXT.replace(old, new), "draft.yaml")


def case(number: int, **fields: Any) -> PastCase:
    request: dict[str, Any] = {
        "code": "OFF_CONTRACT",
        "title": f"Case {number}",
        "requester": "rita",
        "amount": 1200.0,
        "currency": "EUR",
    }
    request.update(fields)
    return PastCase(f"EXC-{number:06d}", request)


PAST = (
    case(1, amount=30_000.0),  # high-value now, not above 50,000
    case(2, amount=80_000.0),  # high-value either way
    case(3, amount=900.0),  # the default route
    case(4, code="PRICE_MISMATCH", details={"variance_pct": 1.0}),  # approved by policy
    case(5, supplier={"risk_score": 99}),  # rejected by policy
    case(6, amount=40_000.0, details={"route": "dual"}),
)
HIGHER = draft("when: amount > 25000.0", "when: amount > 50000.0")


def loads(report: BacktestReport) -> dict[str, tuple[int, int]]:
    return {tier: (load.before, load.after) for tier, load in report.load.items()}


def test_a_draft_that_raises_a_threshold_changes_which_cases_route_where() -> None:
    report = backtest(PAST, the_same_for_all(BEFORE), HIGHER)

    assert report.cases == 6
    assert report.changed == 2
    assert [c.id for c in report.changes] == ["EXC-000001", "EXC-000006"]
    first, sixth = report.changes
    assert first.before == Verdict("route", ("category-lead", "finance-director"), ("high-value",))
    assert first.after == Verdict("route", ("category-lead",))
    assert first.aspects == ("route", "flags")
    assert sixth.before.route == ("category-lead", "dual-control", "finance-director")
    assert sixth.after.route == ("dual-control", "finance-director")
    # Outcomes that do not depend on the amount stay as they were.
    assert all(c.before.outcome == c.after.outcome == "route" for c in report.changes)


def test_approver_load_per_tier_before_and_after() -> None:
    report = backtest(PAST, the_same_for_all(BEFORE), HIGHER)

    assert list(report.load) == list(TIERS)  # every tier of the ladder, in ladder order
    assert loads(report) == {
        "category-lead": (4, 3),  # cases 1, 2, 3, 6; then 2 and 3 (6 no longer high-value)
        "dual-control": (1, 1),
        "all-leads": (0, 0),
        "finance-director": (3, 2),
        "stand-in": (0, 0),
    }
    assert report.load["category-lead"].delta == -1


def test_a_draft_without_a_code_reports_its_cases_as_invalid_changes() -> None:
    without = draft(
        "  - {code: OFF_CONTRACT, title: Purchase from a supplier without a contract}\n", ""
    )
    report = backtest(PAST, the_same_for_all(BEFORE), without)

    assert report.cases == 6
    assert [c.id for c in report.changes] == [f"EXC-00000{n}" for n in (1, 2, 3, 5, 6)]
    for change in report.changes:
        assert change.before.outcome in ("route", "reject")
        assert change.after.outcome == INVALID
        assert change.after.route == ()
        assert change.after.reason is not None
        assert "unknown exception code 'OFF_CONTRACT'" in change.after.reason
        assert change.aspects == ("outcome",)
    shown = report.changes[0].as_dict()["after"]
    assert shown["outcome"] == "invalid"
    assert shown["route"] == []
    assert shown["flags"] == []
    assert shown["reason"].startswith("code: unknown exception code 'OFF_CONTRACT'")
    assert loads(report)["category-lead"] == (4, 0)  # only the auto-approved case is left


def test_an_unknown_requester_and_an_unreadable_stored_request_are_invalid_not_a_crash() -> None:
    without_rita = draft(
        "  - {id: rita, name: Rita Requester", "  - {id: rhea, name: Rita Requester"
    )
    past = (case(1), PastCase("EXC-000002", {"code": "OFF_CONTRACT"}))
    report = backtest(past, the_same_for_all(BEFORE), without_rita)

    assert report.changed == 2
    unknown, unreadable = report.changes
    assert unknown.before.outcome == "route"
    assert unknown.after.outcome == INVALID
    assert "'rita' is neither a person id nor an email" in str(unknown.after.reason)
    # A stored request that no longer validates cannot be evaluated by either policy.
    assert unreadable.before.outcome == unreadable.after.outcome == INVALID
    assert "the stored request does not validate" in str(unreadable.after.reason)
    assert "title: Field required" in str(unreadable.after.reason)


def test_an_unchanged_draft_changes_nothing() -> None:
    same = parse_policy(TEXT + "\n# a comment changes nothing\n", "draft.yaml")
    assert same.version == BEFORE.version
    assert same is not BEFORE
    report = backtest(PAST, the_same_for_all(BEFORE), same)

    assert report.cases == 6
    assert report.changed == 0
    assert report.changes == ()
    assert all(load.before == load.after for load in report.load.values())
    assert report.as_dict()["changed"] == 0
    assert "none would change" in report.to_text()


def test_only_reordered_flags_are_not_a_change() -> None:
    flagged = draft("    flags: [high-value]\n", "    flags: [high-value, big]\n")
    both = draft("    flags: [high-value]\n", "    flags: [big, high-value]\n")
    past = (case(1, amount=30_000.0),)
    before = backtest(past, the_same_for_all(flagged), both)
    assert before.changed == 0
    added = backtest(past, the_same_for_all(BEFORE), flagged)
    assert [c.aspects for c in added.changes] == [("flags",)]


def test_policy_for_is_asked_per_case() -> None:
    asked: list[str] = []

    def policy_for(past: PastCase) -> Policy:
        asked.append(past.id)
        return HIGHER if past.id == "EXC-000001" else BEFORE

    report = backtest(PAST[:2], policy_for, HIGHER)
    assert asked == ["EXC-000001", "EXC-000002"]
    assert report.changed == 0  # case 1 was decided by the draft itself


def test_the_json_shape() -> None:
    report = backtest(PAST[:1], the_same_for_all(BEFORE), HIGHER)
    assert json.loads(report.to_json()) == {
        "cases": 1,
        "changed": 1,
        "changes": [
            {
                "id": "EXC-000001",
                "before": {
                    "outcome": "route",
                    "route": ["category-lead", "finance-director"],
                    "flags": ["high-value"],
                },
                "after": {"outcome": "route", "route": ["category-lead"], "flags": []},
            }
        ],
        "load": {
            "category-lead": {"before": 1, "after": 1},
            "dual-control": {"before": 0, "after": 0},
            "all-leads": {"before": 0, "after": 0},
            "finance-director": {"before": 1, "after": 0},
            "stand-in": {"before": 0, "after": 0},
        },
    }


def test_the_text_says_the_same_facts() -> None:
    report = backtest(PAST, the_same_for_all(BEFORE), HIGHER)
    text = report.to_text()
    assert text.splitlines()[0] == "6 cases backtested: 2 would change (2 route, 2 flags)."
    assert "  category-lead           4        3       -1" in text
    assert "  all-leads               0        0        0" in text
    assert "  EXC-000001  human: category-lead, finance-director\n" in text
    assert "              -> human: category-lead\n" in text
    assert "              flags: high-value -> none" in text


@pytest.mark.parametrize(
    ("verdict", "shown"),
    [
        (Verdict("approve"), "auto-approve"),
        (Verdict("reject", flags=("blocked",)), "auto-reject"),
        (Verdict("route", ("a", "b")), "human: a, b"),
        (Verdict(INVALID, reason="code: unknown"), "invalid: code: unknown"),
    ],
)
def test_verdicts_in_words(verdict: Verdict, shown: str) -> None:
    assert verdict.describe() == shown


def test_an_empty_history() -> None:
    report = backtest((), the_same_for_all(BEFORE), HIGHER)
    assert report.cases == 0
    assert report.changed == 0
    assert set(report.load.values()) == {TierLoad(0, 0)}
    assert report.to_text().startswith("0 cases backtested: none would change.")


# --- the evaluator is held to policy.evaluate, request for request --------------------------

TRICKY = with_rules(
    """\
  - {id: no-amount, when: 'amount == null', route: [t2], flags: [no-amount]}
  - {id: many-details, when: 'size(details) > 2', route: [t3]}
  - {id: by-lee, when: 'requester == "lee"', outcome: approve, flags: [lee]}
  - {id: wide, when: 'details.exists(k, k.startsWith("x"))', route: [t1], flags: [x]}
  - {id: ref, when: 'has(references.po) && title.contains("urgent")', outcome: reject}
  - {id: budget, when: 'budget.remaining < 10.0', route: [t2]}
  - {id: cur, when: 'currency != "EUR" || urgency == null', outcome: approve, flags: [eur]}
  - {id: sup, when: '"on_contract" in supplier', route: [t3], flags: [sup]}
  - {id: big, when: 'amount > 5000.0 && supplier.risk_score >= 50', route: [t2, t3]}
"""
)
TRICKY_DRAFT = with_rules(
    """\
  - {id: no-amount, when: 'amount == null', outcome: reject, flags: [no-amount]}
  - {id: many-details, when: 'size(details) > 3', route: [t3]}
  - {id: by-lee, when: 'requester == "lee"', outcome: approve, flags: [lee]}
  - {id: cur, when: 'currency != "EUR" || urgency == null', outcome: approve, flags: [eur]}
  - {id: big, when: 'amount > 9000.0 && supplier.risk_score >= 50', route: [t2, t3]}
"""
)
ACME = load_policy(EXAMPLE)
ACME_DRAFT = parse_policy(
    EXAMPLE.read_text(encoding="utf-8")
    .replace("when: amount > 25000.0", "when: amount > 50000.0")
    .replace("when: supplier.risk_score >= 70", "when: supplier.risk_score >= 60"),
    "acme-draft.yaml",
)
PAIRS = ((BEFORE, HIGHER), (ACME, ACME_DRAFT), (TRICKY, TRICKY_DRAFT), (TRICKY, BEFORE))


def random_request(rng: random.Random) -> dict[str, Any]:
    maybe = rng.random
    request: dict[str, Any] = {
        "code": rng.choice(["OFF_CONTRACT", "PRICE_MISMATCH", "URGENT_REQUEST", "NOPE"]),
        "title": rng.choice(["Laptops", "urgent laptops", "Desks"]),
        "requester": rng.choice(["rita", "lee", "priya", "omar", "lee@acme.example", "zed"]),
    }
    if maybe() < 0.8:
        request["amount"] = rng.choice([0.0, 900.0, 5000.5, 9500.0, 30_000.0, 300_000.0])
    if maybe() < 0.6:
        request["currency"] = rng.choice(["EUR", "USD"])
    if maybe() < 0.7:
        supplier: dict[str, Any] = {"name": "S"}
        if maybe() < 0.7:
            supplier["risk_score"] = rng.choice([0, 50, 69, 70, 94, 95, 99])
        if maybe() < 0.7:
            supplier["on_contract"] = maybe() < 0.5
        request["supplier"] = supplier
    if maybe() < 0.3:
        request["urgency"] = rng.choice(["low", "critical"])
    if maybe() < 0.3:
        request["budget"] = {"remaining": rng.choice([5.0, 20_000.0])}
    if maybe() < 0.3:
        request["references"] = {"po": "4500001"}
    details = {
        key: value
        for key, value in [
            ("variance_pct", rng.choice([0.5, 2.0, 3.5])),
            ("route", rng.choice(["dual", "all", "stand-in", "none"])),
            ("x1", 1),
            ("lines", 4),
        ]
        if maybe() < 0.35
    }
    if details:
        request["details"] = details
    return request


def reference(request: ExceptionRequest, policy: Policy) -> Verdict:
    """What policy.evaluate says, in the backtest's terms."""
    problems = request_problems(request, policy)
    if problems:
        return Verdict(INVALID, reason="; ".join(f"{f}: {m}" for f, m in problems))
    evaluation = evaluate(request, policy)
    return Verdict(
        evaluation.outcome.value, tuple(step.tier for step in evaluation.route), evaluation.flags
    )


def test_the_evaluator_gives_what_evaluate_gives() -> None:
    rng = random.Random(20261001)  # noqa: S311 (reproducible test data)
    requests = [ExceptionRequest.model_validate(random_request(rng)) for _ in range(600)]
    evaluator = Evaluator()
    seen: set[str] = set()
    for number, request in enumerate(requests):
        for before_policy, draft_policy in PAIRS:
            expected = (reference(request, before_policy), reference(request, draft_policy))
            seen.update(verdict.outcome for verdict in expected)
            past = PastCase(f"EXC-{number:06d}", request.model_dump(mode="json", exclude_none=True))
            assert compare(past, before_policy, draft_policy, evaluator) == expected, request
    assert seen == {"approve", "reject", "route", INVALID}  # every kind of answer was tried


def test_each_case_is_compared_with_the_version_that_decided_it() -> None:
    higher_text = TEXT.replace("when: amount > 25000.0", "when: amount > 50000.0")
    texts = {HIGHER.version: higher_text, "broken": "name: ["}
    policy_for = the_version_that_decided(texts, BEFORE)
    decided = PastCase("EXC-000001", {}, policy_version=HIGHER.version)
    assert policy_for(decided).version == HIGHER.version
    # Older than the stored versions, or a version this code no longer loads: the current one.
    assert policy_for(PastCase("EXC-000002", {})) is BEFORE
    assert policy_for(PastCase("EXC-000003", {}, policy_version="broken")) is BEFORE
    assert policy_for(PastCase("EXC-000004", {}, policy_version=BEFORE.version)) is BEFORE

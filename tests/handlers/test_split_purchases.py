"""Split-purchase detection (the test policy plus the aggregate and rule of the README): the
cases a requester filed with one supplier in 7 days, in the same currency, leaving out
withdrawn and rejected ones, add up against the threshold (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.card_views import build_card_view
from handlers.clock import ManualClock
from handlers.commands import Decide, Withdraw
from handlers.context import Services
from handlers.deciding import decide
from handlers.lifecycle import withdraw
from handlers.queries import case_details
from policy.aggregates import NAMED_CASES
from policy.loader import parse_policy
from storage.records import Action
from tests.conftest import TEST_POLICY
from tests.handlers.conftest import file, person

SPLIT = """\
  - id: possible-split
    when: amount <= 25000.0 && aggregates.same_supplier_7d.amount + amount > 25000.0
    route: [finance-director]
    flags: [possible-split]
    ref: Procurement Policy 4.7, splitting purchases
defaults:"""
AGGREGATES = """
aggregates:
  - id: same_supplier_7d
    window: 7d
    match: [requester, supplier.id]
"""


@pytest.fixture
def split_services(services: Services) -> Services:
    text = TEST_POLICY.read_text(encoding="utf-8").replace("defaults:", SPLIT, 1) + AGGREGATES
    services.policy = parse_policy(text, "split.yaml")
    return services


async def buy(svc: Services, amount: float, n: int, **fields: Any) -> Any:
    fields.setdefault("supplier", {"id": "SUP-1", "name": "Acme"})
    fields.setdefault("currency", "EUR")
    return (await file(svc, amount=amount, title=f"Laptops, batch {n}", **fields)).case


async def test_purchases_that_add_up_past_the_threshold_are_flagged(
    split_services: Services, clock: ManualClock
) -> None:
    svc = split_services
    first = await buy(svc, 10_000.0, 1)
    clock.advance(timedelta(days=1))
    second = await buy(svc, 10_000.0, 2)
    assert second.flags == []  # 10,000 + 10,000 is not past 25,000
    clock.advance(timedelta(days=1))
    third = await buy(svc, 8_000.0, 3)

    assert third.flags == ["possible-split"]
    assert [s.tier for s in (await case_details(svc, third.id)).steps] == ["finance-director"]
    details = await case_details(svc, third.id)
    evaluated = next(e for e in details.history if e.action == "policy.evaluated")
    assert evaluated.data["aggregates"] == {
        "same_supplier_7d": {"amount": 20_000.0, "count": 2, "cases": [first.id, second.id]}
    }
    rule = next(r for r in third.rules if r["id"] == "possible-split")
    assert "aggregates.same_supplier_7d.amount + amount > 25000.0" in rule["why"]
    view = build_card_view(svc.policy, details, "maria")
    assert (
        "Counted with recent cases: EXC-000001 10,000.00 EUR pending; "
        "EXC-000002 10,000.00 EUR pending"
    ) in view.policy_notes


async def test_other_currencies_withdrawn_rejected_and_old_cases_do_not_count(
    split_services: Services, clock: ManualClock
) -> None:
    svc = split_services
    old = await buy(svc, 20_000.0, 1)  # 8 days before the last one: out of the window
    clock.advance(timedelta(days=8))
    await buy(svc, 20_000.0, 2, currency="USD")  # another currency
    withdrawn = await buy(svc, 20_000.0, 3)
    await withdraw(svc, person("rita"), Withdraw(withdrawn.id, "ordered elsewhere"))
    rejected = await buy(svc, 20_000.0, 4)
    await decide(svc, person("lee"), Decide(rejected.id, Action.REJECT, "no"))
    await buy(svc, 20_000.0, 5, by="dana", supplier={"id": "SUP-1"})  # someone else
    await buy(svc, 20_000.0, 6, supplier={"id": "SUP-2"})  # another supplier

    last = await buy(svc, 8_000.0, 7)

    assert old.id not in (await case_details(svc, last.id)).related
    assert last.flags == []
    evaluated = next(
        e for e in (await case_details(svc, last.id)).history if e.action == "policy.evaluated"
    )
    assert evaluated.data["aggregates"]["same_supplier_7d"]["count"] == 0


async def test_a_request_without_a_supplier_id_skips_the_split_rule(
    split_services: Services,
) -> None:
    case = await buy(split_services, 8_000.0, 1, supplier={"name": "Acme"})
    assert case.flags == []
    assert any(
        skip["id"] == "possible-split" and "aggregates" in skip["reason"]
        for skip in case.skipped_rules
    )


async def test_many_related_cases_count_whole_and_the_newest_are_named(
    split_services: Services, clock: ManualClock
) -> None:
    """A supplier with more related cases than an evaluation names: the count and the sum
    cover all of them, the event names the newest NAMED_CASES."""
    svc = split_services
    earlier = []
    for n in range(NAMED_CASES + 5):
        earlier.append((await buy(svc, 100.0, n)).id)
        clock.advance(timedelta(minutes=3))  # past the repeat window of the same title
    latest = await buy(svc, 100.0, 99)

    details = await case_details(svc, latest.id)
    evaluated = next(e for e in details.history if e.action == "policy.evaluated")
    assert evaluated.data["aggregates"]["same_supplier_7d"] == {
        "amount": 100.0 * (NAMED_CASES + 5),
        "count": NAMED_CASES + 5,
        "cases": earlier[-NAMED_CASES:],
    }

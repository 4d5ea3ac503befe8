from __future__ import annotations

import dataclasses
from typing import Any

from cards import actions
from cards.console import render_console
from cards.limits import CONSOLE_HISTORY_LINES, CONSOLE_TEXT, TRUNCATION_MARK, truncate
from cards.view import Button, CardView, Fact, HistoryLine, RuleLine, StepLine

BASE = CardView(
    case_ref="EXC-000001",
    title="Invoice 12% above PO",
    status="pending",
    headline="EXC-000001 Invoice 12% above PO: waiting for category-lead",
    exception_title="PRICE_MISMATCH: Invoice price differs from the PO",
    facts=(Fact("Requester", "Rita Requester"), Fact("Amount", "18,250.00 USD")),
    references=(Fact("po", "PO-88812"),),
    rules=(RuleLine("Procurement Policy 4.2", "https://p.example/4.2", "amount > 1"),),
    flags=("high-value", "supplier-risk"),
    route=(StepLine("category-lead", "open", "waiting for Lee Park"),),
    due="2026-03-02 13:00 UTC",
    history=(HistoryLine("2026-03-02 09:00 UTC", "Rita Requester filed the exception"),),
    buttons=(
        Button(actions.APPROVE, "Approve", actions.button_value(1, 1), "primary"),
        Button(actions.REJECT, "Reject", actions.button_value(1, 1), "danger"),
    ),
)


def view(**overrides: Any) -> CardView:
    return dataclasses.replace(BASE, **overrides)


def test_the_card_carries_the_policy_context_and_numbered_buttons() -> None:
    text = render_console(view(), [7, 8])
    assert "EXC-000001  Invoice 12% above PO  [PENDING]" in text
    assert "  Amount: 18,250.00 USD" in text
    assert "  • Procurement Policy 4.2 <https://p.example/4.2>" in text
    assert "Risk flags: high-value, supplier-risk" in text
    assert "  1. category-lead: waiting for Lee Park" in text
    assert "Due: 2026-03-02 13:00 UTC" in text
    assert "[7] Approve  [8] Reject" in text


def test_without_numbers_there_are_no_buttons() -> None:
    assert "Approve" not in render_console(view())


def test_long_text_is_cut_and_says_so() -> None:
    text = render_console(view(title="x" * 2000))
    title_line = text.splitlines()[1]
    assert TRUNCATION_MARK in title_line
    assert len(title_line) < CONSOLE_TEXT + 40


def test_long_history_shows_the_latest_entries() -> None:
    history = tuple(HistoryLine("t", f"entry {i}") for i in range(50))
    text = render_console(view(history=history))
    assert f"({50 - CONSOLE_HISTORY_LINES} earlier entries not shown)" in text
    assert "entry 49" in text
    assert "entry 29" not in text


def test_truncate() -> None:
    assert truncate("short", 10) == "short"
    cut = truncate("a" * 100, 20)
    assert len(cut) == 20
    assert cut.endswith(TRUNCATION_MARK)


def test_button_values_round_trip_and_reject_anything_else() -> None:
    assert actions.parse_button_value(actions.button_value(12, 345)) == (12, 345)
    for bad in ("", "case:1", "case:x:step:1", "case:1:step:2:extra", "step:1:case:2"):
        assert actions.parse_button_value(bad) is None

"""A policy proposal's card on every platform: the diff, the backtest summary, the buttons only
while it is a proposal, the decision line after; Slack's limits (tests.slack.block_kit_rules)
and the official Adaptive Cards 1.5 schema on worst cases; the button values' round trip."""

from __future__ import annotations

import dataclasses
import json

import pytest

from cards import actions
from cards.console_proposal import render_proposal_console
from cards.limits import PROPOSAL_DIFF_LINE, PROPOSAL_DIFF_LINES, TRUNCATION_MARK
from cards.proposal_view import ProposalView, diff_excerpt
from cards.slack_proposal import (
    REASON_BLOCK,
    REASON_INPUT,
    proposal_message,
    read_reject_metadata,
    reason_value,
    reject_metadata,
    reject_modal,
)
from cards.teams_proposal import TEXT_INPUT, proposal_card
from cards.view import Button
from tests.cards.teams_checks import assert_valid, inputs, paragraphs
from tests.slack.block_kit_rules import block_errors, view_errors

DIFF = """\
--- active
+++ draft
@@ -20,3 +20,3 @@
   - id: category-lead
-    sla: 4h
+    sla: 8h"""
VALUE = actions.policy_button_value(2)
OPEN = ProposalView(
    ref="POL-000002",
    proposer="Ada Admin",
    reason="approvers need a working day",
    state="proposed",
    diff=diff_excerpt(DIFF)[0],
    backtest=(
        "Backtest on the last 30 days: 12 cases replayed, 3 would change.",
        "Load per tier: category-lead 5→3, finance-director 2→4.",
    ),
    buttons=(
        Button(actions.POLICY_APPROVE, "Approve", VALUE, "primary"),
        Button(actions.POLICY_REJECT, "Reject", VALUE, "danger"),
    ),
)
DECIDED = dataclasses.replace(
    OPEN,
    state="rejected",
    decision="Rejected by Maria Finance at 2026-03-02 09:14 UTC: not now",
    buttons=(),
)
# The worst a card gets: every diff line at its cap, in characters that escape long.
WORST = dataclasses.replace(
    OPEN,
    reason="<!channel> & [x](https://evil.example) " * 80,
    diff=tuple(("+ " + "é<&" * 100)[:PROPOSAL_DIFF_LINE] for _ in range(PROPOSAL_DIFF_LINES)),
    diff_omitted=500,
)


def _slack_buttons(message: dict[str, object]) -> dict[str, dict[str, object]]:
    blocks = message["blocks"]
    assert isinstance(blocks, list)
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def test_the_diff_keeps_its_first_lines_each_cut_and_counts_the_rest() -> None:
    long = "\n".join(f"+ line {i} " + "x" * 300 for i in range(100))
    shown, omitted = diff_excerpt(long)
    assert len(shown) == PROPOSAL_DIFF_LINES
    assert omitted == 100 - PROPOSAL_DIFF_LINES
    assert all(len(line) <= PROPOSAL_DIFF_LINE for line in shown)
    assert shown[0].endswith(TRUNCATION_MARK)
    assert diff_excerpt("") == ((), 0)


def test_slack_card_shows_diff_backtest_and_the_two_buttons() -> None:
    message = proposal_message(OPEN)
    assert block_errors(message["blocks"]) == []
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert "POL-000002" in text
    assert "Ada Admin" in text
    assert "-    sla: 4h" in text
    assert "+    sla: 8h" in text
    assert "12 cases replayed, 3 would change" in text
    assert "category-lead 5→3" in text
    buttons = _slack_buttons(message)
    assert set(buttons) == set(actions.POLICY_DECISIONS)
    assert {b["value"] for b in buttons.values()} == {"policy:2"}
    assert "confirm" in buttons[actions.POLICY_APPROVE]  # an approval is in force at once
    assert "POL-000002" in str(message["text"])


def test_slack_card_once_decided_has_no_buttons_and_says_who() -> None:
    message = proposal_message(DECIDED)
    assert block_errors(message["blocks"]) == []
    assert _slack_buttons(message) == {}
    assert "Rejected by Maria Finance" in json.dumps(message["blocks"], ensure_ascii=False)


def test_slack_card_worst_case_stays_within_limits_and_escapes() -> None:
    message = proposal_message(WORST)
    assert block_errors(message["blocks"]) == []
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert "<!channel>" not in text
    assert "more lines of the diff not shown" in text


def test_slack_reject_modal_requires_a_reason_and_round_trips_its_metadata() -> None:
    modal = reject_modal(ref="POL-000002", private_metadata=reject_metadata(2, "D0MARIA"))
    assert view_errors(modal) == []
    [reason] = [b for b in modal["blocks"] if b["type"] == "input"]
    assert reason["block_id"] == REASON_BLOCK
    assert "optional" not in reason  # Slack will not submit it empty
    assert read_reject_metadata(modal["private_metadata"]) == (2, "D0MARIA")
    typed = {REASON_BLOCK: {REASON_INPUT: {"type": "plain_text_input", "value": "  why  "}}}
    assert reason_value(typed) == "why"
    assert reason_value({REASON_BLOCK: {REASON_INPUT: {"value": "   "}}}) is None


@pytest.mark.parametrize(
    "metadata",
    [
        '{"policy": "2"}',
        '{"policy": true}',
        '{"policy": 0}',
        "[2]",
        "not json",
        '{"policy": 2, "channel": 5}',
    ],
)
def test_slack_reject_metadata_not_ours_is_refused(metadata: str) -> None:
    assert read_reject_metadata(metadata) is None


def test_teams_card_is_valid_with_an_input_and_two_execute_actions() -> None:
    card = proposal_card(OPEN)
    assert_valid(card)
    shown = "\n".join(paragraphs(card))
    assert "+    sla: 8h" in shown
    assert "12 cases replayed" in shown
    assert [(a["verb"], a["data"]) for a in card["actions"]] == [
        (actions.POLICY_APPROVE, {"policy": 2, "action": actions.POLICY_APPROVE}),
        (actions.POLICY_REJECT, {"policy": 2, "action": actions.POLICY_REJECT}),
    ]
    assert [a["style"] for a in card["actions"]] == ["positive", "destructive"]
    assert set(inputs(card)) == {TEXT_INPUT}


def test_teams_card_shows_a_refusal_above_the_input_and_keeps_the_text() -> None:
    card = proposal_card(OPEN, error="say why the proposal is rejected", typed="half a reason")
    assert_valid(card)
    assert "say why the proposal is rejected" in paragraphs(card)
    assert inputs(card)[TEXT_INPUT]["value"] == "half a reason"


def test_teams_card_once_decided_has_no_actions_nor_input() -> None:
    card = proposal_card(dataclasses.replace(DECIDED, notice="Rejected POL-000002."))
    assert_valid(card)
    assert "actions" not in card
    assert inputs(card) == {}
    shown = "\n".join(paragraphs(card))
    assert "Rejected by Maria Finance" in shown
    assert "Rejected POL-000002." in shown


def test_teams_card_worst_case_is_valid_and_under_the_size_limit() -> None:
    card = proposal_card(WORST, error="x" * 5000, typed="y" * 5000)
    assert_valid(card)
    assert any("more lines of the diff not shown" in p for p in paragraphs(card))


def test_console_card_says_the_commands_only_while_it_is_a_proposal() -> None:
    text = render_proposal_console(OPEN)
    assert "/policy approve POL-000002 [note]" in text
    assert "/policy reject POL-000002 <reason>" in text
    assert "+    sla: 8h" in text
    assert "3 would change" in text
    decided = render_proposal_console(DECIDED)
    assert "/policy approve" not in decided
    assert "Decision: Rejected by Maria Finance" in decided


def test_policy_button_values_round_trip_and_refuse_anything_else() -> None:
    assert actions.parse_policy_button_value(actions.policy_button_value(123)) == 123
    for forged in ("policy:abc", "policy:0", "policy:2\n", "policy:٣", "case:1:step:1", "", "2"):
        assert actions.parse_policy_button_value(forged) is None
    assert actions.policy_approves(actions.POLICY_APPROVE) is True
    assert actions.policy_approves(actions.POLICY_REJECT) is False
    assert actions.policy_approves(actions.APPROVE) is None

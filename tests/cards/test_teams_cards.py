"""Adaptive Card rendering for Teams: the card's content, the Action.Execute verbs and data and
their way back, refresh, errors on the card, and the size limit on worst cases. Every card
rendered here is validated against the official Adaptive Cards 1.5 schema."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from cards import actions, teams
from cards.limits import TRUNCATION_MARK
from cards.view import Button, CardView, Fact, HistoryLine, RuleLine, StepLine
from tests.cards.teams_checks import (
    SCHEMA_PATH,
    assert_valid,
    elements,
    find,
    inputs,
    invoke,
    links,
    paragraphs,
    schema_errors,
    validator,
)


def test_the_official_schema_is_at_hand() -> None:
    assert SCHEMA_PATH.is_file(), f"the Adaptive Cards schema is missing: {SCHEMA_PATH}"
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["definitions"]["Action.Execute"]["version"] == "1.4"
    assert validator().is_valid(teams.text_card("hello"))


def test_schema_errors_are_narrowed_to_the_element_type() -> None:
    bad = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "text": "fine"},
            {"type": "TextBlock", "text": "x", "colour": "red"},
            {"type": "Banner"},
            {"type": "Input.Text", "placeholder": "no id"},
        ],
        "actions": [{"type": "Action.Execute", "verb": 1}],
    }
    assert schema_errors(bad) == [
        "actions/0 (Action.Execute): 1 is not of type 'string'",
        "body/1 (TextBlock): Additional properties are not allowed ('colour' was unexpected)",
        "body/2: unknown element type 'Banner'",
        "body/3 (Input.Text): 'id' is a required property",
    ]
    nested = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [{"type": "RichTextBlock", "inlines": [{"type": "TextRun", "color": "red"}]}],
    }
    messages = schema_errors(nested)
    assert messages[0] == "body/0/inlines/0 (TextRun): 'text' is a required property"
    assert messages[1:]  # the colour itself is named, not the whole RichTextBlock
    assert all(m.startswith("body/0/inlines/0/color: 'red' ") for m in messages[1:])


# --- views ----------------------------------------------------------------------------------------

VALUE = actions.button_value(12, 34)
BASE = CardView(
    case_ref="EXC-000012",
    title="Invoice 12% above PO",
    status="pending",
    headline="EXC-000012 Invoice 12% above PO: waiting for finance-director",
    exception_title="PRICE_MISMATCH: Invoice price differs from the PO",
    facts=(
        Fact("Requester", "Rita Requester"),
        Fact("Amount", "18,250.00 USD"),
        Fact("Supplier", "Acme (S-1), risk 72/100, OFF CONTRACT"),
        Fact("Legal entity", "ACME-US"),
    ),
    references=(Fact("po", "PO-88812"), Fact("invoice", "INV-5531")),
    rules=(
        RuleLine("Procurement Policy 4.2", "https://p.example/4.2", "amount > 25000.0"),
        RuleLine("AP tolerance", None, "variance above 2 percent"),
    ),
    flags=("high-value", "supplier-risk"),
    route=(
        StepLine("category-lead", "approved", "approved by Lee Park at 2026-03-02 09:14 UTC"),
        StepLine("finance-director", "open", "waiting for Maria Finance"),
    ),
    due="2026-03-02 13:00 UTC",
    history=(HistoryLine("2026-03-02 09:00 UTC", "Rita Requester filed the exception"),),
    escalations=(HistoryLine("2026-03-02 13:05 UTC", "reminder 1 to Maria Finance"),),
    buttons=(
        Button(actions.APPROVE, "Approve", VALUE, "primary"),
        Button(actions.REJECT, "Reject", VALUE, "danger"),
        Button(actions.REQUEST_INFO, "Request info", VALUE),
    ),
    playbook="https://wiki.example/price-mismatch",
    notice="Policy requires a rationale to approve.",
)
FINAL = dataclasses.replace(
    BASE, status="approved", buttons=(), notice=None, headline="EXC-000012 Invoice: approved"
)
TEAMS_USER = "29:1uMVvhoAyfTqdMsyvHL0qlJTTfQF9MOUSI8_cQts2kdSWEZVDyJO2jz-CsNOhQcdYq1Bw4cHT0__O6X"


def view(**overrides: Any) -> CardView:
    return dataclasses.replace(BASE, **overrides)


# --- the approval card ----------------------------------------------------------------------------


def test_the_card_carries_the_policy_context() -> None:
    card = teams.approval_card(BASE)
    assert_valid(card)
    shown = paragraphs(card)
    for expected in (
        "EXC-000012 · Invoice 12% above PO",
        "PRICE_MISMATCH: Invoice price differs from the PO",
        "⏳ Status: Pending",
        "📅 Due: 2026-03-02 13:00 UTC",
        "Requester: Rita Requester",
        "Amount: 18,250.00 USD",
        "Supplier: Acme (S-1), risk 72/100, OFF CONTRACT",
        "Legal entity: ACME-US",
        "References: po PO-88812, invoice INV-5531",
        "📜 Policy",
        "• Procurement Policy 4.2 — amount > 25000.0",
        "• AP tolerance — variance above 2 percent",
        "⚠️ Risk flags: high-value, supplier-risk",
        "🚏 Route",
        "✅ 1. category-lead (approved): approved by Lee Park at 2026-03-02 09:14 UTC",
        "🟠 2. finance-director (open): waiting for Maria Finance",
        "🚨 Escalation history",
        "2026-03-02 13:05 UTC: reminder 1 to Maria Finance",
        "📝 History",
        "2026-03-02 09:00 UTC: Rita Requester filed the exception",
        "📖 Playbook",
    ):
        assert expected in shown, expected
    # The order of the Slack card: facts, policy, flags, route, escalations, history.
    order = ["Amount: 18,250.00 USD", "📜 Policy", "⚠️ Risk flags: high-value, supplier-risk"]
    order += ["🚏 Route", "🚨 Escalation history", "📝 History"]
    assert [shown.index(s) for s in order] == sorted(shown.index(s) for s in order)
    assert links(card) == {
        "Procurement Policy 4.2": "https://p.example/4.2",
        "Playbook": "https://wiki.example/price-mismatch",
    }
    notice = find(card, "Policy requires a rationale to approve.")
    assert (notice["type"], notice["color"]) == ("TextBlock", "attention")
    assert card["fallbackText"] == f"Approval requested: {BASE.headline}"
    assert teams.fallback_text(FINAL) == "EXC-000012 Invoice: approved"


def test_the_buttons_are_action_execute_with_the_action_ids() -> None:
    card = teams.approval_card(BASE)
    assert [(a["type"], a["title"], a["verb"], a.get("style")) for a in card["actions"]] == [
        ("Action.Execute", "Approve", actions.APPROVE, "positive"),
        ("Action.Execute", "Reject", actions.REJECT, "destructive"),
        ("Action.Execute", "Request info", actions.REQUEST_INFO, None),
    ]
    for action in card["actions"]:
        assert action["data"] == {"case": 12, "step": 34, "action": action["verb"]}
        value = actions.button_value(action["data"]["case"], action["data"]["step"])
        assert actions.parse_button_value(value) == (12, 34)


def test_the_rationale_input_says_when_it_is_required() -> None:
    card = teams.approval_card(BASE)
    field = inputs(card)[teams.RATIONALE_INPUT]
    assert field["type"] == "Input.Text"
    assert field["isMultiline"] is True
    assert field["maxLength"] == teams.RATIONALE_MAX
    assert "required to reject or to request info" in field["placeholder"]
    assert "approve where policy says so" in field["placeholder"]
    assert "value" not in field
    assert list(elements(card))[-1] is field  # right above the buttons


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_press_round_trips_through_an_invoke(index: int) -> None:
    action = teams.approval_card(BASE)["actions"][index]
    activity = invoke(action, {teams.RATIONALE_INPUT: "  over budget \n"})
    assert activity["name"] == "adaptiveCard/action"
    press = teams.parse_action(activity["value"]["action"])
    assert press == teams.CardPress(actions.ALL[index], 12, 34, "over budget")
    empty = teams.parse_action(invoke(action, {teams.RATIONALE_INPUT: "  "})["value"]["action"])
    assert empty is not None
    assert empty.rationale is None


@pytest.mark.parametrize(
    "action",
    [
        {"verb": "exc_unknown", "data": {"case": 1, "step": 1}},
        {"verb": teams.REFRESH_VERB, "data": {"case": 1, "step": 1}},
        {"verb": teams.FILE_VERB, "data": {"code": "X"}},
        {"verb": actions.APPROVE},
        {"verb": actions.APPROVE, "data": "case:1:step:1"},
        {"verb": actions.APPROVE, "data": {"case": 1}},
        {"verb": actions.APPROVE, "data": {"case": True, "step": 1}},
        {"verb": actions.APPROVE, "data": {"case": -1, "step": 1}},
        {"verb": actions.APPROVE, "data": {"case": 1.5, "step": 1}},
        {"verb": actions.APPROVE, "data": {"case": 1, "step": 1, "action": actions.REJECT}},
        {"data": {"case": 1, "step": 1, "action": actions.APPROVE}},
    ],
)
def test_a_press_that_is_not_ours_is_dropped(action: dict[str, Any]) -> None:
    assert teams.parse_action(action) is None


def test_a_press_with_ids_as_strings_is_read() -> None:
    press = teams.parse_action({"verb": actions.REJECT, "data": {"case": "7", "step": "9"}})
    assert press == teams.CardPress(actions.REJECT, 7, 9, None)


def test_a_stale_card_refreshes_itself_for_the_assigned_approvers() -> None:
    card = teams.approval_card(BASE, refresh_user_ids=[TEAMS_USER, "29:other", TEAMS_USER, ""])
    assert_valid(card)
    assert card["refresh"] == {
        "action": {
            "type": "Action.Execute",
            "verb": teams.REFRESH_VERB,
            "data": {"case_ref": "EXC-000012", "case": 12, "step": 34},
        },
        "userIds": [TEAMS_USER, "29:other"],
    }
    assert "refresh" not in teams.approval_card(BASE)
    watching = teams.approval_card(view(buttons=(), notice=None), refresh_user_ids=[TEAMS_USER])
    assert_valid(watching)
    assert watching["refresh"]["action"]["data"] == {"case_ref": "EXC-000012"}


def test_refresh_user_ids_are_capped() -> None:
    many = [f"29:user-{i:03d}" for i in range(150)]
    card = teams.approval_card(BASE, refresh_user_ids=many)
    assert_valid(card)
    assert card["refresh"]["userIds"] == many[: teams.MAX_REFRESH_USERS]
    assert teams.MAX_REFRESH_USERS == 60


def test_a_final_card_has_no_actions_no_input_and_no_refresh() -> None:
    card = teams.approval_card(FINAL, refresh_user_ids=[TEAMS_USER])
    assert_valid(card)
    assert "actions" not in card
    assert "refresh" not in card
    assert inputs(card) == {}
    assert "✅ Status: Approved" in paragraphs(card)
    assert card["fallbackText"] == "EXC-000012 Invoice: approved"
    # Even if a view were built with buttons, a final card offers none.
    assert "actions" not in teams.approval_card(dataclasses.replace(FINAL, buttons=BASE.buttons))


def test_a_card_without_buttons_has_no_input() -> None:
    card = teams.approval_card(view(buttons=(), notice=None))
    assert_valid(card)
    assert "actions" not in card
    assert inputs(card) == {}
    assert card["fallbackText"] == BASE.headline


def test_a_validation_error_comes_back_on_the_card_with_the_typed_rationale() -> None:
    card = teams.error_card(BASE, "A rejection needs a rationale.", rationale="half a thought")
    assert_valid(card)
    body = card["body"]
    error, field = body[-2], body[-1]
    assert error == {
        "type": "TextBlock",
        "text": "A rejection needs a rationale.",
        "wrap": True,
        "color": "attention",
        "weight": "bolder",
    }
    assert field["id"] == teams.RATIONALE_INPUT
    assert field["value"] == "half a thought"
    assert len(card["actions"]) == 3
    same = teams.approval_card(
        BASE, error="A rejection needs a rationale.", rationale="half a thought"
    )
    assert same == card
    # On a card that took no input, the error still shows.
    final = teams.error_card(FINAL, "Lee Park decided this step first.")
    assert_valid(final)
    assert find(final, "Lee Park decided this step first.")["color"] == "attention"


def test_user_text_cannot_become_a_link_or_markdown_link() -> None:
    sneaky = "[click here](https://evil.example) *bold* <b>"
    card = teams.approval_card(
        view(
            title=sneaky,
            exception_title=sneaky,
            facts=(Fact(sneaky, sneaky),),
            references=(),
            rules=(
                RuleLine("Ref 1", "javascript:alert(1)", sneaky),
                RuleLine(sneaky, "https://p.example/ok", "why"),
                RuleLine("Ref 3", "https://p.example/with space", "why"),
            ),
            history=(HistoryLine("t", sneaky),),
            notice=sneaky,
            playbook="https://wiki.example/x y",
        ),
        error=sneaky,
    )
    assert_valid(card)
    assert links(card) == {sneaky: "https://p.example/ok"}  # only the one safe rule url
    markdown = [e["text"] for e in elements(card) if e["type"] == "TextBlock"]
    markdown += [f"{f['title']} {f['value']}" for e in elements(card) for f in e.get("facts", [])]
    assert all("](" not in text for text in markdown)  # a markdown link cannot form
    shown = "\n".join(paragraphs(card))
    assert sneaky in shown  # rich text runs are shown as typed


def test_a_button_value_that_is_not_a_case_and_step_is_a_bug() -> None:
    with pytest.raises(ValueError, match="button value"):
        teams.approval_card(view(buttons=(Button(actions.APPROVE, "Approve", "v" * 50),)))


def test_a_long_button_label_is_cut() -> None:
    card = teams.approval_card(view(buttons=(Button(actions.APPROVE, "A" * 200, VALUE),)))
    assert_valid(card)
    assert card["actions"][0]["title"].endswith(TRUNCATION_MARK)


# --- worst cases ----------------------------------------------------------------------------------


def worst_case(**overrides: Any) -> CardView:
    long = "Lorem ipsum [dolor](x) & sit amet, ünïcödé " * 150  # 6450 characters
    return view(
        title="T" * 5000,
        headline=long,
        exception_title=long,
        facts=tuple(Fact(f"Fact {i} {long[:300]}", long) for i in range(40)),
        references=tuple(Fact(f"ref{i}", "R" * 200) for i in range(20)),
        rules=tuple(
            RuleLine(f"Rule {i} {long[:500]}", f"https://p.example/{i}/" + "p" * 900, long)
            for i in range(40)
        ),
        flags=tuple(f"flag-{i}-{long[:100]}" for i in range(100)),
        route=tuple(StepLine(f"tier-{i}", "waiting", long) for i in range(12)),
        escalations=tuple(HistoryLine(f"at {i}", long) for i in range(60)),
        history=tuple(HistoryLine(f"at {i}", f"entry {i} {long}") for i in range(200)),
        playbook="https://wiki.example/" + "x" * 5000,
        notice=long,
        **overrides,
    )


def test_the_worst_case_fits_and_says_what_it_left_out() -> None:
    card = teams.approval_card(worst_case(), refresh_user_ids=[TEAMS_USER])
    assert_valid(card)
    shown = "\n".join(paragraphs(card))
    assert shown.startswith("EXC-000012 · TTTT")
    assert TRUNCATION_MARK in paragraphs(card)[0]
    assert "Rule 0 " in shown  # the first rules are kept...
    assert "more rules not shown" in shown  # ...and the rest counted
    assert "entry 199 " in shown  # the newest history is kept...
    assert "earlier entries not shown" in shown  # ...and the oldest counted
    assert "earlier escalations not shown" in shown
    assert "more facts not shown" in shown
    assert "Fact 0 " in shown
    assert "tier-11" in shown  # the route comes first and is whole
    assert "more steps not shown" not in shown
    assert len(card["actions"]) == 3  # the buttons survive everything
    assert teams.RATIONALE_INPUT in inputs(card)
    assert "refresh" in card


def test_the_worst_case_without_buttons_also_fits() -> None:
    card = teams.approval_card(worst_case(status="rejected", buttons=()))
    assert_valid(card)
    assert "actions" not in card


def test_the_worst_case_with_every_extra_still_fits() -> None:
    users = [f"29:{'u' * 88}{i:03d}" for i in range(100)]
    card = teams.error_card(
        dataclasses.replace(
            worst_case(),
            route=tuple(StepLine(f"tier-{i}", "waiting", "ж" * 900) for i in range(60)),
        ),
        "ошибка " * 500,
        rationale="ж" * 5000,
        refresh_user_ids=users,
    )
    assert_valid(card)
    assert len(card["refresh"]["userIds"]) == teams.MAX_REFRESH_USERS
    assert len(card["actions"]) == 3
    assert "more steps not shown" in "\n".join(paragraphs(card))


def test_many_short_entries_fit_without_loss() -> None:
    many = view(
        rules=tuple(RuleLine(f"Rule {i}", f"https://p.example/{i}", "x > 1") for i in range(40)),
        history=tuple(HistoryLine("2026-03-02 09:00 UTC", f"entry {i}") for i in range(200)),
    )
    card = teams.approval_card(many)
    assert_valid(card)
    shown = paragraphs(card)
    assert not any("not shown" in text for text in shown)
    assert all(f"2026-03-02 09:00 UTC: entry {i}" in shown for i in range(200))
    assert all(f"Rule {i}" in links(card) for i in range(40))


def test_facts_beyond_the_cap_are_counted() -> None:
    card = teams.approval_card(view(facts=tuple(Fact(f"F{i}", "v") for i in range(45))))
    assert_valid(card)
    fact_set = next(e for e in elements(card) if e["type"] == "FactSet")
    assert len(fact_set["facts"]) == teams.MAX_FACTS
    assert "16 more facts not shown" in paragraphs(card)  # 45 facts + references, 30 shown


# --- text replies ---------------------------------------------------------------------------------


def test_a_text_card_shows_the_text_as_typed() -> None:
    card = teams.text_card("You can't approve [your own](http://x) case.\n\nAsk *someone* else.")
    assert_valid(card)
    assert paragraphs(card) == [
        "You can't approve [your own](http://x) case.",
        "Ask *someone* else.",
    ]
    assert card["body"][1]["spacing"] == "medium"  # the blank line is kept as a gap
    assert "actions" not in card
    help_card = teams.text_card("status EXC-000123   show a case\nlist", preformatted=True)
    assert_valid(help_card)
    assert all(e["inlines"][0]["fontType"] == "monospace" for e in help_card["body"])
    assert_valid(teams.text_card(""))


def test_a_long_text_card_keeps_its_first_lines_and_counts_the_rest() -> None:
    text = "\n".join(f"line {i} " + "ü" * 400 for i in range(500))
    card = teams.text_card(text, preformatted=True)
    assert_valid(card)
    shown = paragraphs(card)
    assert shown[0].startswith("line 0 ")
    assert shown[-1].endswith("more lines not shown")
    kept = len(shown) - 1
    assert shown[-1] == f"{500 - kept} more lines not shown"

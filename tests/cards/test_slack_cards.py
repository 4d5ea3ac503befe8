"""Block Kit rendering: the card's content, escaping, the modals' shape, the filing round trip,
the App Home, and every Slack limit on worst cases (checked by tests.slack.block_kit_rules, the
same independent checker the fake Slack API refuses requests with)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from cards import actions, slack
from cards.limits import TRUNCATION_MARK
from cards.slack_blocks import (
    BUTTON_VALUE,
    FIELD_TEXT,
    HEADER_TEXT,
    MESSAGE_BLOCKS,
    SECTION_FIELDS,
    SECTION_TEXT,
    VIEW_BLOCKS,
    VIEW_TITLE,
    escape,
    md,
)
from cards.view import Button, CardView, Fact, HistoryLine, RuleLine, StepLine
from policy.request import ExceptionRequest
from tests.slack.block_kit_rules import block_errors, view_errors
from tests.slack.signing import option_state, text_state

VALUE = actions.button_value(1, 1)
BASE = CardView(
    case_ref="EXC-000001",
    title="Invoice 12% above PO",
    status="pending",
    headline="EXC-000001 Invoice 12% above PO: waiting for category-lead",
    exception_title="PRICE_MISMATCH: Invoice price differs from the PO",
    facts=(
        Fact("Requester", "Rita Requester"),
        Fact("Amount", "18,250.00 USD"),
        Fact("Supplier", "Acme (S-1), risk 72/100, OFF CONTRACT"),
        Fact("Category", "IT hardware"),
        Fact("Cost center", "CC-100"),
        Fact("Project", "P-7"),
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
    escalations=(HistoryLine("2026-03-02 13:05 UTC", "reminded Maria Finance"),),
    buttons=(
        Button(actions.APPROVE, "Approve", VALUE, "primary"),
        Button(actions.REJECT, "Reject", VALUE, "danger"),
        Button(actions.REQUEST_INFO, "Request info", VALUE),
    ),
    playbook="https://wiki.example/price-mismatch",
    notice="Policy requires a rationale to approve.",
)


def view(**overrides: Any) -> CardView:
    return dataclasses.replace(BASE, **overrides)


def texts(blocks: list[dict[str, Any]]) -> Iterator[str]:
    """Every text in the blocks (section text and fields, headers, context elements)."""
    for block in blocks:
        if "text" in block:
            yield block["text"]["text"]
        for item in block.get("fields", []) + block.get("elements", []):
            if "text" in item and isinstance(item["text"], str):
                yield item["text"]


def all_text(message: dict[str, Any]) -> str:
    return "\n".join(texts(message["blocks"]))


def action_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in blocks if b["type"] == "actions"]


# --- the card ------------------------------------------------------------------------------


def test_the_card_carries_the_policy_context() -> None:
    message = slack.card_message(BASE)
    assert block_errors(message["blocks"]) == []
    assert message["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "EXC-000001 · Invoice 12% above PO", "emoji": True},
    }
    text = all_text(message)
    for expected in (
        "*PRICE_MISMATCH: Invoice price differs from the PO*",
        "*Requester*\nRita Requester",
        "*Amount*\n18,250.00 USD",
        "Acme (S-1), risk 72/100, OFF CONTRACT",
        "*Legal entity*\nACME-US",
        "po PO-88812, invoice INV-5531",
        "• <https://p.example/4.2|Procurement Policy 4.2> — amount &gt; 25000.0",
        "• AP tolerance — variance above 2 percent",
        "*Risk flags:* high-value, supplier-risk",
        "1. *category-lead* (approved): approved by Lee Park at 2026-03-02 09:14 UTC",
        "2. *finance-director* (open): waiting for Maria Finance",
        "*Due:* 2026-03-02 13:00 UTC",
        "*Escalation history*\n• `2026-03-02 13:05 UTC` reminded Maria Finance",
        "*History*\n• `2026-03-02 09:00 UTC` Rita Requester filed the exception",
        "<https://wiki.example/price-mismatch|Playbook>",
        "Policy requires a rationale to approve.",
    ):
        assert expected in text, expected
    assert message["text"] == f"Approval requested: {escape(BASE.headline)}"


def test_the_buttons_come_from_the_view() -> None:
    [block] = action_blocks(slack.card_message(BASE)["blocks"])
    assert [(e["action_id"], e["text"]["text"], e.get("style")) for e in block["elements"]] == [
        (actions.APPROVE, "Approve", "primary"),
        (actions.REJECT, "Reject", "danger"),
        (actions.REQUEST_INFO, "Request info", None),
    ]
    assert {e["value"] for e in block["elements"]} == {VALUE}
    assert all(actions.parse_button_value(e["value"]) == (1, 1) for e in block["elements"])


def test_a_final_card_has_no_buttons() -> None:
    final = view(status="approved", buttons=(), headline="EXC-000001 Invoice: approved")
    message = slack.card_message(final)
    assert action_blocks(message["blocks"]) == []
    assert "*Status:* Approved" in all_text(message)
    assert message["text"] == "EXC-000001 Invoice: approved"


def test_user_text_is_escaped_and_cannot_mention_or_link() -> None:
    sneaky = "<!channel> Tom & Jerry <http://evil.example|click>"
    message = slack.card_message(
        view(
            title=sneaky,
            headline=sneaky,
            exception_title=sneaky,
            facts=(Fact("Supplier", sneaky),),
            rules=(RuleLine("Ref <x>", "javascript:alert(1)", sneaky),),
            history=(HistoryLine("t", sneaky),),
        )
    )
    mrkdwn = [t for t in texts(message["blocks"][1:])]  # the header is plain text
    assert all("<!channel>" not in t and "<http://evil" not in t for t in mrkdwn)
    assert "&lt;!channel&gt; Tom &amp; Jerry &lt;http://evil.example|click&gt;" in all_text(message)
    assert "• Ref &lt;x&gt; — " in all_text(message)  # not a link: the url is not http(s)
    assert "<!channel>" not in message["text"]
    assert message["blocks"][0]["text"]["text"].startswith("EXC-000001 · <!channel>")  # plain


def test_md_never_cuts_inside_an_entity() -> None:
    cut = md("&" * 100, 50)
    assert len(cut) <= 50
    assert cut.endswith(TRUNCATION_MARK)
    assert cut.removesuffix(TRUNCATION_MARK) == "&amp;" * 7


def worst_case(**overrides: Any) -> CardView:
    long = "Lorem ipsum <dolor> & sit amet, " * 200  # 6400 characters, with escapes
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


def assert_within_every_message_limit(message: dict[str, Any]) -> None:
    blocks = message["blocks"]
    assert block_errors(blocks) == []
    assert len(blocks) <= MESSAGE_BLOCKS
    assert 0 < len(message["text"]) <= 4000
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_TEXT
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= SECTION_TEXT
            assert len(block.get("fields", [])) <= SECTION_FIELDS
            assert all(len(f["text"]) <= FIELD_TEXT for f in block.get("fields", []))
        if block["type"] == "actions":
            assert all(len(e["value"]) <= BUTTON_VALUE for e in block["elements"])
            assert all(len(e["text"]["text"]) <= 75 for e in block["elements"])


def test_the_worst_case_fits_every_limit_and_says_what_it_left_out() -> None:
    message = slack.card_message(worst_case())
    assert_within_every_message_limit(message)
    assert len(message["blocks"]) == MESSAGE_BLOCKS  # it used the room it had
    text = all_text(message)
    assert TRUNCATION_MARK in message["blocks"][0]["text"]["text"]
    assert "Rule 0 " in text  # the first rules are kept...
    assert "more rules not shown_" in text  # ...and the rest counted
    assert "entry 199 " in text  # the newest history is kept...
    assert "earlier entries not shown_" in text  # ...and the oldest counted
    assert "earlier escalations not shown_" in text
    assert "more facts not shown_" in text
    assert "tier-11" in text  # the route comes first and is whole
    assert action_blocks(message["blocks"])  # the buttons survive everything


def test_the_worst_case_without_buttons_also_fits() -> None:
    message = slack.card_message(worst_case(status="rejected", buttons=()))
    assert_within_every_message_limit(message)
    assert action_blocks(message["blocks"]) == []


def test_many_short_entries_are_folded_into_few_blocks_without_loss() -> None:
    many = view(
        rules=tuple(RuleLine(f"Rule {i}", f"https://p.example/{i}", "x > 1") for i in range(40)),
        history=tuple(HistoryLine("2026-03-02 09:00 UTC", f"entry {i}") for i in range(200)),
    )
    message = slack.card_message(many)
    assert_within_every_message_limit(message)
    text = all_text(message)
    assert "not shown" not in text
    assert all(f"entry {i}\n" in text + "\n" for i in range(200))
    assert all(f"|Rule {i}>" in text for i in range(40))


def test_our_own_ids_and_values_are_never_cut() -> None:
    with pytest.raises(ValueError, match="button value"):
        slack.card_message(view(buttons=(Button(actions.APPROVE, "Approve", "v" * 2001),)))
    with pytest.raises(ValueError, match="action_id"):
        slack.card_message(view(buttons=(Button("a" * 256, "Approve", VALUE),)))


def test_a_long_button_label_is_cut() -> None:
    message = slack.card_message(view(buttons=(Button(actions.APPROVE, "A" * 200, VALUE),)))
    assert_within_every_message_limit(message)


# --- the rationale modal -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action_id", "title", "submit"),
    [
        (actions.REJECT, "Reject EXC-000001", "Reject"),
        (actions.APPROVE, "Approve EXC-000001", "Approve"),
        (actions.REQUEST_INFO, "Request info EXC-000001", "Send"),
    ],
)
def test_the_rationale_modal(action_id: str, title: str, submit: str) -> None:
    modal = slack.rationale_modal(view=BASE, action_id=action_id, private_metadata=VALUE)
    assert view_errors(modal) == []
    assert modal["type"] == "modal"
    assert modal["callback_id"] == slack.RATIONALE_CALLBACK
    assert modal["private_metadata"] == VALUE
    assert (modal["title"]["text"], modal["submit"]["text"]) == (title, submit)
    assert "EXC-000001" in modal["blocks"][0]["text"]["text"]
    assert "18,250.00 USD" in modal["blocks"][0]["text"]["text"]
    [field] = [b for b in modal["blocks"] if b["type"] == "input"]
    assert field["block_id"] == slack.RATIONALE_BLOCK
    assert field["element"]["action_id"] == slack.RATIONALE_INPUT
    assert field["element"]["type"] == "plain_text_input"
    assert field["element"]["multiline"] is True
    assert field.get("optional", False) is False


def test_the_rationale_modal_worst_case_and_refusals() -> None:
    modal = slack.rationale_modal(
        view=worst_case(case_ref="EXC-123456789"),
        action_id=actions.REQUEST_INFO,
        private_metadata="m" * 3000,
    )
    assert view_errors(modal) == []
    assert len(modal["title"]["text"]) <= VIEW_TITLE
    with pytest.raises(ValueError, match="private_metadata"):
        slack.rationale_modal(view=BASE, action_id=actions.REJECT, private_metadata="m" * 3001)
    with pytest.raises(ValueError, match="no rationale modal"):
        slack.rationale_modal(view=BASE, action_id="exc_unknown", private_metadata="")


def test_rationale_value() -> None:
    def state(value: str | None) -> dict[str, Any]:
        return {slack.RATIONALE_BLOCK: {slack.RATIONALE_INPUT: text_state(value)}}

    assert slack.rationale_value(state("  too expensive \n")) == "too expensive"
    assert slack.rationale_value(state("   \n ")) is None
    assert slack.rationale_value(state(None)) is None
    assert slack.rationale_value({}) is None


# --- the filing modal ----------------------------------------------------------------------

TAXONOMY = [
    ("PRICE_MISMATCH", "Invoice price differs from the PO"),
    ("OFF_CONTRACT", "Purchase from a supplier without a contract"),
]


def inputs(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in modal["blocks"] if b["type"] == "input"}


def test_the_filing_modal_has_a_block_for_every_field() -> None:
    modal = slack.filing_modal(taxonomy=TAXONOMY, private_metadata="C123")
    assert view_errors(modal) == []
    assert modal["callback_id"] == slack.FILING_CALLBACK
    assert modal["private_metadata"] == "C123"
    blocks = inputs(modal)
    assert set(blocks) == set(slack.FILING_BLOCKS.values())
    assert all(b["element"]["action_id"] == slack.FILING_ACTION for b in blocks.values())
    code = blocks[slack.FILING_BLOCKS["code"]]
    assert code["optional"] is False
    assert code["element"]["type"] == "static_select"
    assert [o["value"] for o in code["element"]["options"]] == ["PRICE_MISMATCH", "OFF_CONTRACT"]
    assert code["element"]["options"][0]["text"]["text"].startswith("PRICE_MISMATCH: Invoice")
    assert blocks[slack.FILING_BLOCKS["title"]]["optional"] is False
    contract = blocks[slack.FILING_BLOCKS["supplier.on_contract"]]["element"]
    assert contract["type"] == "radio_buttons"
    assert [o["value"] for o in contract["options"]] == ["yes", "no", "unknown"]
    urgency = blocks[slack.FILING_BLOCKS["urgency"]]["element"]
    assert [o["value"] for o in urgency["options"]] == ["low", "normal", "high", "critical"]
    assert blocks[slack.FILING_BLOCKS["details"]]["element"]["multiline"] is True


def test_a_large_taxonomy_is_grouped_and_an_empty_one_is_typed() -> None:
    codes = [(f"CODE_{i:03d}", "A title " * 20) for i in range(250)]
    modal = slack.filing_modal(taxonomy=codes)
    assert view_errors(modal) == []
    element = inputs(modal)[slack.FILING_BLOCKS["code"]]["element"]
    groups = element["option_groups"]
    assert [len(g["options"]) for g in groups] == [100, 100, 50]
    assert groups[0]["label"]["text"] == "CODE_000 – CODE_099"
    typed = inputs(slack.filing_modal(taxonomy=[]))[slack.FILING_BLOCKS["code"]]["element"]
    assert typed["type"] == "plain_text_input"
    with pytest.raises(ValueError, match="private_metadata"):
        slack.filing_modal(taxonomy=TAXONOMY, private_metadata="m" * 3001)


def submission(**typed: dict[str, Any]) -> dict[str, Any]:
    """state.values with every block present (as Slack sends them) and `typed` filled in."""
    values: dict[str, Any] = {
        block: {slack.FILING_ACTION: text_state(None)} for block in slack.FILING_BLOCKS.values()
    }
    for path, state in typed.items():
        values[slack.FILING_BLOCKS[path.replace("__", ".")]] = {slack.FILING_ACTION: state}
    return values


def test_filing_values_round_trip_into_a_valid_request() -> None:
    state = submission(
        code=option_state("PRICE_MISMATCH"),
        title=text_state("  Invoice 12% above PO "),
        amount=text_state("18250.50"),
        currency=text_state("usd"),
        supplier__name=text_state("Acme"),
        supplier__risk_score=text_state("72"),
        supplier__on_contract=option_state("no", "radio_buttons"),
        urgency=option_state("high"),
        references__po=text_state("00123"),
        details=text_state("variance_pct = 12\n\nnote=late delivery\nrush=true\nratio=0.5"),
    )
    raw = slack.filing_values(state)
    assert raw == {
        "code": "PRICE_MISMATCH",
        "title": "Invoice 12% above PO",
        "amount": "18250.50",
        "currency": "USD",
        "supplier": {"name": "Acme", "risk_score": "72", "on_contract": False},
        "urgency": "high",
        "references": {"po": "00123"},
        "details": {"variance_pct": 12, "note": "late delivery", "rush": True, "ratio": 0.5},
    }
    request = ExceptionRequest.model_validate({**raw, "requester": "rita"})
    assert request.amount == 18250.5
    assert request.supplier is not None
    assert request.supplier.risk_score == 72


def test_empty_inputs_are_left_out() -> None:
    assert slack.filing_values(submission()) == {}
    assert slack.filing_values({}) == {}
    unknown = submission(supplier__on_contract=option_state("unknown", "radio_buttons"))
    assert slack.filing_values(unknown) == {}


def test_a_bad_number_is_reported_by_validation_on_its_block() -> None:
    raw = slack.filing_values(
        submission(code=option_state("X"), title=text_state("t"), amount=text_state("12,5x"))
    )
    assert raw["amount"] == "12,5x"
    with pytest.raises(ValidationError) as caught:
        ExceptionRequest.model_validate({**raw, "requester": "rita"})
    [error] = caught.value.errors()
    assert slack.filing_block_for(error["loc"]) == slack.FILING_BLOCKS["amount"]


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ("variance_pct=12\njust some words", "Line 2 (just some words) is not key=value."),
        ("=12", "Line 1 (=12) is not key=value."),
        ("a=1\na=2", "Line 2: a is given twice."),
    ],
)
def test_a_malformed_details_line_names_its_block(details: str, message: str) -> None:
    with pytest.raises(ValueError, match="details") as caught:
        slack.filing_values(submission(details=text_state(details)))
    error = caught.value
    assert isinstance(error, slack.FilingInputError)
    assert error.block_id == slack.FILING_BLOCKS["details"]
    assert error.message == message


@pytest.mark.parametrize(
    ("loc", "block"),
    [
        (("supplier", "risk_score"), "supplier.risk_score"),
        (("details", "variance_pct"), "details"),
        (("references",), "references.po"),
        (("supplier",), "supplier.name"),
        (("currency",), "currency"),
        (("requester",), None),
    ],
)
def test_filing_block_for(loc: tuple[str, ...], block: str | None) -> None:
    expected = None if block is None else slack.FILING_BLOCKS[block]
    assert slack.filing_block_for(loc) == expected


# --- lists, App Home, notices ---------------------------------------------------------------


def case(number: int, **overrides: Any) -> CardView:
    ref = f"EXC-{number:06d}"
    fields: dict[str, Any] = {
        "case_ref": ref,
        "headline": f"{ref} Invoice: waiting for category-lead",
        "buttons": tuple(
            dataclasses.replace(b, value=actions.button_value(number, number)) for b in BASE.buttons
        ),
    }
    return view(**(fields | overrides))


def test_the_home_view_says_when_it_is_empty() -> None:
    home = slack.home_view(pending=[], requests=[], person_name="Lee <Park>")
    assert home["type"] == "home"
    assert view_errors(home) == []
    text = all_text(home)
    assert "Nothing is waiting for your approval." in text
    assert "You have no open requests." in text
    assert home["blocks"][0]["text"]["text"] == "Approvals for Lee <Park>"  # plain text


def test_the_home_view_lists_pending_with_buttons_and_requests_without() -> None:
    home = slack.home_view(pending=[case(1), case(2)], requests=[case(3)], person_name="Lee")
    assert view_errors(home) == []
    text = all_text(home)
    assert "*Waiting for your approval* (2)" in text
    assert "*Your open requests* (1)" in text
    assert text.index("*EXC-000002*") < text.index("*EXC-000001*")  # newest first
    values = [e["value"] for b in action_blocks(home["blocks"]) for e in b["elements"]]
    assert set(values) == {actions.button_value(2, 2), actions.button_value(1, 1)}


def test_the_home_view_overflow_shows_the_newest_and_counts_the_rest() -> None:
    long = {"title": "T" * 5000, "exception_title": "E" * 5000, "headline": "H" * 5000}
    home = slack.home_view(
        pending=[case(i, **long) for i in range(1, 81)],
        requests=[case(i, **long) for i in range(101, 181)],
        person_name="P" * 500,
    )
    assert view_errors(home) == []
    assert len(home["blocks"]) <= VIEW_BLOCKS
    text = all_text(home)
    assert "*EXC-000080*" in text
    assert "*EXC-000180*" in text
    assert "more waiting for you" in text
    assert "more open requests" in text
    shown = len(action_blocks(home["blocks"]))  # one per pending case shown
    assert f"_{80 - shown} more waiting for you;" in text


def test_a_list_message_fits_and_counts_what_it_left_out() -> None:
    message = slack.case_list_message(
        heading="Waiting for your approval",
        views=[case(i) for i in range(1, 61)],
        empty="Nothing waits for you.",
    )
    assert_within_every_message_limit(message)
    assert "older cases not shown" in all_text(message)
    assert "*EXC-000060*" in all_text(message)
    empty = slack.case_list_message(heading="Your requests", views=[], empty="None open.")
    assert empty["text"] == "Your requests: None open."
    assert block_errors(empty["blocks"]) == []


def test_notices_carry_text_and_escape_it() -> None:
    notice = slack.notice_message("You can't approve <your own> case & that's that.")
    assert notice["text"] == "You can't approve &lt;your own&gt; case &amp; that's that."
    assert block_errors(notice["blocks"]) == []
    long = slack.notice_message("\n".join("line " * 100 for _ in range(200)), preformatted=True)
    assert_within_every_message_limit(long)
    assert all(t.startswith("```") for t in texts(long["blocks"]))

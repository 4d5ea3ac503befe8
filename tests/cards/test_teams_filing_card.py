"""The Teams filing card: an input for every field, the round trip of an invoke into a valid
request, and errors shown next to their inputs. Every card is validated against the schema."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from cards import teams
from cards.filing_text import FILING_FIELDS
from policy.request import ExceptionRequest
from tests.cards.teams_checks import assert_valid, inputs, invoke

# --- the filing card ------------------------------------------------------------------------------

TAXONOMY = [
    ("PRICE_MISMATCH", "Invoice price differs from the PO"),
    ("OFF_CONTRACT", "Purchase from a supplier without a contract"),
]


def test_the_filing_card_has_an_input_for_every_field() -> None:
    card = teams.filing_card(taxonomy=TAXONOMY)
    assert_valid(card)
    fields = inputs(card)
    assert set(fields) == set(teams.FILING_INPUTS.values())
    assert tuple(teams.FILING_INPUTS) == FILING_FIELDS  # the same fields as in Slack
    code = fields[teams.FILING_INPUTS["code"]]
    assert code["type"] == "Input.ChoiceSet"
    assert code["isRequired"] is True
    assert [c["value"] for c in code["choices"]] == ["PRICE_MISMATCH", "OFF_CONTRACT"]
    assert code["choices"][0]["title"] == "PRICE_MISMATCH: Invoice price differs from the PO"
    assert fields[teams.FILING_INPUTS["title"]]["isRequired"] is True
    for number in ("amount", "supplier.risk_score"):
        assert fields[teams.FILING_INPUTS[number]]["type"] == "Input.Number"
    assert fields[teams.FILING_INPUTS["supplier.risk_score"]]["max"] == 100
    contract = fields[teams.FILING_INPUTS["supplier.on_contract"]]
    assert [c["value"] for c in contract["choices"]] == ["yes", "no", "unknown"]
    urgency = fields[teams.FILING_INPUTS["urgency"]]
    assert [c["value"] for c in urgency["choices"]] == ["low", "normal", "high", "critical"]
    assert fields[teams.FILING_INPUTS["details"]]["isMultiline"] is True
    assert card["actions"] == [
        {"type": "Action.Execute", "title": "File", "verb": teams.FILE_VERB, "style": "positive"}
    ]


def test_an_empty_taxonomy_is_typed_and_a_large_one_shrinks() -> None:
    typed = teams.filing_card(taxonomy=[])
    assert_valid(typed)
    typed_code = inputs(typed)[teams.FILING_INPUTS["code"]]
    assert typed_code["type"] == "Input.Text"
    assert typed_code["placeholder"] == "The exception code, e.g. PRICE_MISMATCH"
    codes = [(f"CODE_{i:03d}", "A title " * 20) for i in range(250)]
    large = teams.filing_card(taxonomy=codes)
    assert_valid(large)
    choices = inputs(large)[teams.FILING_INPUTS["code"]]["choices"]
    assert len(choices) == 250
    assert choices[0] == {"title": "CODE_000", "value": "CODE_000"}  # titles gave way
    huge = teams.filing_card(taxonomy=[(f"CODE_{i:05d}", "t") for i in range(3000)])
    assert_valid(huge)
    assert inputs(huge)[teams.FILING_INPUTS["code"]]["type"] == "Input.Text"


def filing_data(**typed: Any) -> dict[str, Any]:
    """An invoke's `value.action.data` for the File button: every input as Teams sends it
    (empty inputs as ""), with `typed` (field paths, "." written "__") filled in."""
    data: dict[str, Any] = {input_id: "" for input_id in teams.FILING_INPUTS.values()}
    for path, value in typed.items():
        data[teams.FILING_INPUTS[path.replace("__", ".")]] = value
    return data


def test_a_filing_round_trips_through_an_invoke_into_a_valid_request() -> None:
    card = teams.filing_card(taxonomy=TAXONOMY)
    [file_action] = card["actions"]
    activity = invoke(
        {**file_action, "data": {}},
        filing_data(
            code="PRICE_MISMATCH",
            title="  Invoice 12% above PO ",
            amount="18250.50",
            currency="usd",
            supplier__name="Acme",
            supplier__risk_score="72",
            supplier__on_contract="no",
            urgency="high",
            references__po="00123",
            details="variance_pct = 12\n\nnote=late delivery\nrush=true\nratio=0.5",
        ),
    )
    action = activity["value"]["action"]
    assert action["verb"] == teams.FILE_VERB
    raw = teams.filing_values(action["data"])
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


def test_numbers_sent_as_numbers_are_kept_and_text_inputs_become_text() -> None:
    raw = teams.filing_values(filing_data(amount=100, supplier__risk_score=5.0, title=42))
    assert raw == {"amount": 100, "supplier": {"risk_score": 5.0}, "title": "42"}
    assert teams.filing_values(filing_data(supplier__on_contract="yes")) == {
        "supplier": {"on_contract": True}
    }


def test_empty_inputs_and_foreign_keys_are_left_out() -> None:
    assert teams.filing_values(filing_data()) == {}
    assert teams.filing_values({}) == {}
    assert teams.filing_values({"verb": "x", "case": 3, "code": None}) == {}
    assert teams.filing_values(filing_data(supplier__on_contract="unknown", details=" \n")) == {}


def test_a_bad_number_is_reported_by_validation_on_its_input() -> None:
    raw = teams.filing_values(filing_data(code="X", title="t", amount="12,5x"))
    assert raw["amount"] == "12,5x"
    with pytest.raises(ValidationError) as caught:
        ExceptionRequest.model_validate({**raw, "requester": "rita"})
    [error] = caught.value.errors()
    assert teams.filing_input_for(error["loc"]) == teams.FILING_INPUTS["amount"]


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ("variance_pct=12\njust some words", "Details line 2 (just some words) is not key=value."),
        ("=12", "Details line 1 (=12) is not key=value."),
        ("a=1\na=2", "Details line 2: a is given twice."),
    ],
)
def test_a_malformed_details_line_names_its_input(details: str, message: str) -> None:
    with pytest.raises(ValueError, match="Details") as caught:
        teams.filing_values(filing_data(details=details))
    error = caught.value
    assert isinstance(error, teams.FilingInputError)
    assert error.input_id == teams.FILING_INPUTS["details"]
    assert error.message == message == str(error)


@pytest.mark.parametrize(
    ("typed", "input_id"),
    [
        ({"supplier__on_contract": "maybe"}, "supplier.on_contract"),
        ({"title": ["a", "list"]}, "title"),
        ({"amount": True}, "amount"),
    ],
)
def test_an_input_that_cannot_be_read_names_its_input(typed: dict[str, Any], input_id: str) -> None:
    with pytest.raises(teams.FilingInputError) as caught:
        teams.filing_values(filing_data(**typed))
    assert caught.value.input_id == teams.FILING_INPUTS[input_id]


@pytest.mark.parametrize(
    ("loc", "input_id"),
    [
        (("supplier", "risk_score"), "supplier.risk_score"),
        (("supplier.risk_score",), "supplier.risk_score"),
        (("details", "variance_pct"), "details"),
        (("references",), "references.po"),
        (("supplier",), "supplier.name"),
        (("currency",), "currency"),
        (("requester",), None),
    ],
)
def test_filing_input_for(loc: tuple[str, ...], input_id: str | None) -> None:
    expected = None if input_id is None else teams.FILING_INPUTS[input_id]
    assert teams.filing_input_for(loc) == expected


def test_errors_show_next_to_their_inputs_and_the_typed_values_stay() -> None:
    data = filing_data(
        code="OFF_CONTRACT",
        title="Rush order",
        amount="18250.5",
        supplier__risk_score="abc",
        supplier__on_contract="no",
        currency="usd",
        details="just words",
    )
    errors = {
        "details": "Details line 1 (just words) is not key=value.",
        "supplier.risk_score": "Input should be a valid integer",
        "requester": "is not a person in the policy",
    }
    card = teams.filing_card(taxonomy=TAXONOMY, values=copy.deepcopy(data), errors=errors)
    assert_valid(card)
    body = card["body"]
    fields = inputs(card)
    assert fields["code"]["value"] == "OFF_CONTRACT"
    assert fields["title"]["value"] == "Rush order"
    assert fields["amount"]["value"] == 18250.5
    assert "value" not in fields["supplier.risk_score"]  # not a number: shown empty, flagged
    assert fields["supplier.on_contract"]["value"] == "no"
    assert fields["currency"]["value"] == "usd"
    assert fields["details"]["value"] == "just words"
    assert "value" not in fields["urgency"]

    def after(input_id: str) -> dict[str, Any]:
        element: dict[str, Any] = body[body.index(fields[input_id]) + 1]
        return element

    assert after("details") == {
        "type": "TextBlock",
        "text": "Details line 1 (just words) is not key=value.",  # names its input already
        "wrap": True,
        "color": "attention",
        "weight": "bolder",
    }
    assert after("supplier.risk_score")["text"] == (
        "Supplier risk score: Input should be a valid integer"
    )
    assert body[1]["text"] == "requester: is not a person in the policy"  # no input: on top
    assert body[1]["color"] == "attention"
    unknown_choice = teams.filing_card(taxonomy=TAXONOMY, values={"code": "NOT_A_CODE"})
    assert_valid(unknown_choice)
    assert "value" not in inputs(unknown_choice)["code"]


def test_a_filing_card_with_long_values_and_many_errors_fits() -> None:
    values = {input_id: "ж" * 6000 for input_id in teams.FILING_INPUTS.values()}
    errors = {path: "e" * 2000 for path in teams.FILING_INPUTS} | {"x": "y" * 2000}
    card = teams.filing_card(
        taxonomy=[(f"CODE_{i:03d}", "A title " * 20) for i in range(100)],
        values=values,
        errors=errors,
    )
    assert_valid(card)

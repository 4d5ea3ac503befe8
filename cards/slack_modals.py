"""Slack modals: the rationale asked for on Reject (and Approve where policy demands one), the
filing form of `/exception`, and the pure shaping of their submissions back into data.

Import these from cards.slack, which re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cards import actions
from cards.filing_text import FILING_FIELDS, parse_detail_lines, put
from cards.slack_blocks import (
    ITEM_TEXT,
    OPTION_GROUP_LABEL,
    OPTION_TEXT,
    OPTION_VALUE,
    PLACEHOLDER,
    PRIVATE_METADATA,
    SELECT_OPTIONS,
    SHORT_TEXT,
    TEXT_INPUT_MAX,
    VIEW_TITLE,
    Block,
    context,
    md,
    plain,
    section,
)
from cards.view import CardView

RATIONALE_CALLBACK = "exc_rationale"
RATIONALE_BLOCK = "rationale"
RATIONALE_INPUT = "rationale_input"

FILING_CALLBACK = "exc_file"
FILING_ACTION = "value"  # the action_id of every input of the filing modal

# ExceptionRequest field path -> block_id of its input in the filing modal. The block ids are the
# paths themselves; the mapping is what adapters rely on, not that coincidence.
FILING_BLOCKS: dict[str, str] = {path: path for path in FILING_FIELDS}

_URGENCIES = ("low", "normal", "high", "critical")
_CONTRACT = {"yes": True, "no": False, "unknown": None}


class FilingInputError(ValueError):
    """A filing form input that cannot be read (a details line that is not key=value). Carries
    the block to flag with `response_action: errors` and a message safe to show the user."""

    def __init__(self, block_id: str, message: str) -> None:
        super().__init__(f"{block_id}: {message}")
        self.block_id = block_id
        self.message = message


def _metadata(private_metadata: str) -> str:
    if len(private_metadata) > PRIVATE_METADATA:
        raise ValueError(f"private_metadata is longer than {PRIVATE_METADATA} characters")
    return private_metadata


def _title(text: str) -> dict[str, Any]:
    return plain(text, VIEW_TITLE)


# --- the rationale modal -------------------------------------------------------------------

_RATIONALE_WORDS = {
    # action id: (verb for the title, submit label, input label, placeholder)
    actions.APPROVE: ("Approve", "Approve", "Why do you approve?", "Your rationale"),
    actions.REJECT: ("Reject", "Reject", "Why do you reject this?", "Your reason"),
    actions.REQUEST_INFO: (
        "Request info",
        "Send",
        "What do you need to know?",
        "Your question for the requester",
    ),
    actions.ANSWER: ("Answer", "Send", "Your answer to the approver", "Your answer"),
}


def _case_summary(view: CardView) -> Block:
    lines = [
        f"*{md(view.case_ref, SHORT_TEXT)}* {md(view.title, ITEM_TEXT)}",
        md(view.exception_title, ITEM_TEXT),
    ]
    lines += [
        f"*{md(f.label, SHORT_TEXT)}:* {md(f.value, SHORT_TEXT)}"
        for f in view.facts
        if f.label in ("Requester", "Amount", "Supplier")
    ]
    return section("\n".join(lines))


def rationale_modal(*, view: CardView, action_id: str, private_metadata: str) -> dict[str, Any]:
    """The modal (views.open) asking for a rationale before `action_id` is applied.

    The text is read back with `rationale_value`; `private_metadata` (at most 3000 characters,
    never cut) is where the adapter keeps what it needs to act, e.g. the button value.
    """
    if action_id not in _RATIONALE_WORDS:
        raise ValueError(f"no rationale modal for action {action_id!r}")
    verb, submit, label, placeholder = _RATIONALE_WORDS[action_id]
    title = f"{verb} {view.case_ref}"
    blocks: list[Block] = [_case_summary(view)]
    if view.notice:
        blocks.append(context([f":information_source: {md(view.notice, ITEM_TEXT)}"]))
    blocks.append(
        {
            "type": "input",
            "block_id": RATIONALE_BLOCK,
            "label": plain(label, SHORT_TEXT),
            "element": {
                "type": "plain_text_input",
                "action_id": RATIONALE_INPUT,
                "multiline": True,
                "max_length": TEXT_INPUT_MAX,
                "placeholder": plain(placeholder, PLACEHOLDER),
            },
        }
    )
    return {
        "type": "modal",
        "callback_id": RATIONALE_CALLBACK,
        "private_metadata": _metadata(private_metadata),
        "title": _title(title if len(title) <= VIEW_TITLE else verb),
        "submit": _title(submit),
        "close": _title("Cancel"),
        "blocks": blocks,
    }


def rationale_value(state_values: Mapping[str, Any]) -> str | None:
    """The rationale typed in the modal, stripped; None when it is empty or missing."""
    element = (state_values.get(RATIONALE_BLOCK) or {}).get(RATIONALE_INPUT) or {}
    text = element.get("value") if isinstance(element, Mapping) else None
    return (text.strip() or None) if isinstance(text, str) else None


# --- the filing modal ----------------------------------------------------------------------


def _option(text: str, value: str) -> dict[str, Any]:
    if not value or len(value) > OPTION_VALUE:
        raise ValueError(f"option value {value[:40]!r} must be 1 to {OPTION_VALUE} characters")
    return {"text": plain(text, OPTION_TEXT), "value": value}


def _text_input(
    *, multiline: bool = False, max_length: int | None = None, placeholder: str | None = None
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": FILING_ACTION}
    if multiline:
        element["multiline"] = True
    if max_length is not None:
        element["max_length"] = min(max_length, TEXT_INPUT_MAX)
    if placeholder:
        element["placeholder"] = plain(placeholder, PLACEHOLDER)
    return element


def _input(
    path: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = True,
    hint: str | None = None,
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": FILING_BLOCKS[path],
        "label": plain(label, SHORT_TEXT),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, SHORT_TEXT)
    return block


def _code_element(taxonomy: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A static_select of the codes; over 100 codes, option groups of 100; none, a text input."""
    if not taxonomy:
        return _text_input(max_length=64, placeholder="PRICE_MISMATCH")
    options = [_option(f"{code}: {title}", code) for code, title in taxonomy]
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": FILING_ACTION,
        "placeholder": plain("Choose the exception code", PLACEHOLDER),
    }
    if len(options) <= SELECT_OPTIONS:
        element["options"] = options
        return element
    groups = [options[i : i + SELECT_OPTIONS] for i in range(0, len(options), SELECT_OPTIONS)]
    if len(groups) > SELECT_OPTIONS:
        raise ValueError(f"a select holds at most {SELECT_OPTIONS**2} codes")
    element["option_groups"] = [
        {
            "label": plain(f"{group[0]['value']} – {group[-1]['value']}", OPTION_GROUP_LABEL),
            "options": group,
        }
        for group in groups
    ]
    return element


def _select(placeholder: str, choices: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": FILING_ACTION,
        "placeholder": plain(placeholder, PLACEHOLDER),
        "options": [_option(text, value) for value, text in choices],
    }


def filing_modal(
    *, taxonomy: Sequence[tuple[str, str]], private_metadata: str = ""
) -> dict[str, Any]:
    """The `/exception` filing form (views.open). `taxonomy` is (code, title) pairs in the order
    to offer them. Read the submission with `filing_values`."""
    contract = {
        "type": "radio_buttons",
        "action_id": FILING_ACTION,
        "options": [
            _option(text, value)
            for value, text in (("yes", "Yes"), ("no", "No"), ("unknown", "Don't know"))
        ],
    }
    blocks: list[Block] = [
        context(["File a procurement exception. Fields marked optional may stay empty."]),
        _input("code", "Exception code", _code_element(taxonomy), optional=False),
        _input(
            "title",
            "Title",
            _text_input(max_length=300, placeholder="Invoice 12% above PO"),
            optional=False,
        ),
        _input("amount", "Amount", _text_input(max_length=32, placeholder="18250.00")),
        _input(
            "currency",
            "Currency",
            _text_input(max_length=3, placeholder="USD"),
            hint="Three-letter ISO code.",
        ),
        _input("supplier.name", "Supplier name", _text_input(max_length=200)),
        _input("supplier.id", "Supplier id", _text_input(max_length=64)),
        _input(
            "supplier.risk_score",
            "Supplier risk score",
            _text_input(max_length=3, placeholder="0-100"),
        ),
        _input("supplier.on_contract", "Supplier on contract?", contract),
        _input("category", "Category", _text_input(max_length=100)),
        _input("cost_center", "Cost center", _text_input(max_length=64)),
        _input("project_code", "Project code", _text_input(max_length=64)),
        _input("legal_entity", "Legal entity", _text_input(max_length=64)),
        _input(
            "urgency", "Urgency", _select("How urgent?", [(u, u.capitalize()) for u in _URGENCIES])
        ),
        _input("references.po", "PO reference", _text_input(max_length=200)),
        _input("references.invoice", "Invoice reference", _text_input(max_length=200)),
        _input(
            "details",
            "Details",
            _text_input(multiline=True, placeholder="variance_pct=12\nnote=late delivery"),
            hint="One key=value per line.",
        ),
    ]
    return {
        "type": "modal",
        "callback_id": FILING_CALLBACK,
        "private_metadata": _metadata(private_metadata),
        "title": _title("File an exception"),
        "submit": _title("File"),
        "close": _title("Cancel"),
        "blocks": blocks,
    }


def _typed(element: Any) -> str | None:
    """What an input element holds, as text: a typed value or a chosen option's value."""
    if not isinstance(element, Mapping):
        return None
    value = element.get("value")
    selected = element.get("selected_option")
    if value is None and isinstance(selected, Mapping):
        value = selected.get("value")
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _details(text: str) -> dict[str, Any]:
    try:
        return parse_detail_lines(text)
    except ValueError as error:
        message = str(error)
        raise FilingInputError(
            FILING_BLOCKS["details"], message[:1].upper() + message[1:]
        ) from None


def filing_values(state_values: Mapping[str, Any]) -> dict[str, Any]:
    """The raw request dict from a filing modal's `view.state.values`.

    Empty inputs are left out; supplier and references are nested; amount and risk score stay
    the typed strings (the caller's validation names a bad number); the contract radio becomes
    true/false (omitted for "don't know"); the currency is upper-cased; details lines are parsed
    as key=value, and a line that is not raises FilingInputError (a ValueError) naming its block.
    The requester is not here: the caller fills it in from the actor.
    """
    raw: dict[str, Any] = {}
    for path, block_id in FILING_BLOCKS.items():
        text = _typed((state_values.get(block_id) or {}).get(FILING_ACTION))
        if text is None:
            continue
        value: Any = text
        if path == "currency":
            value = text.upper()
        elif path == "supplier.on_contract":
            if text not in _CONTRACT:
                raise FilingInputError(block_id, "Choose yes, no or don't know.")
            value = _CONTRACT[text]
        elif path == "details":
            value = _details(text)
        if value is None or value == {}:
            continue
        put(raw, path, value)
    return raw


def filing_block_for(loc: Sequence[str | int]) -> str | None:
    """The filing modal block to flag for a validation error at `loc` (a pydantic error's loc,
    e.g. ("supplier", "risk_score")), or None when no input of the form holds that field."""
    parts = [str(p) for p in loc]
    for end in range(len(parts), 0, -1):
        path = ".".join(parts[:end])
        if path in FILING_BLOCKS:
            return FILING_BLOCKS[path]
        nested = next((p for p in FILING_BLOCKS if p.startswith(path + ".")), None)
        if nested is not None:
            return FILING_BLOCKS[nested]
    return None

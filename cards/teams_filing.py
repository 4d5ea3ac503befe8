"""The Teams filing card (the `file` command) and the pure shaping of its invoke data back into
a raw request. Import these from cards.teams, which re-exports them.

The card's inputs have the request's field paths as ids ("supplier.name"); pressing File sends
an `adaptiveCard/action` invoke with verb FILE_VERB whose `value.action.data` holds every input
by id (Teams merges inputs into the action's data). Errors come back on a re-rendered card,
next to their inputs, with what was typed kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from cards.filing_text import parse_detail_lines, put
from cards.limits import truncate
from cards.teams_elements import (
    CARD_BUDGET,
    NOTICE_TEXT,
    Element,
    attention,
    card,
    card_bytes,
    text_block,
)

FILE_VERB = "exc_file"  # the verb of the filing card's File button
CHOICE_TEXT = 80  # the title of one code in the code picker
ERRORS_SHOWN = 5  # problems shown at one input (or at the top); more are counted
ECHO_SHORT = 200  # typed values are cut to this when the card would not fit otherwise

_URGENCIES = ("low", "normal", "high", "critical")
_CONTRACT = {"yes": True, "no": False, "unknown": None}
_NOTHING: Mapping[str, Any] = MappingProxyType({})
_TYPED_CODE = ("The exception code, e.g. PRICE_MISMATCH", "Type the exception code.")
_INTRO = "File a procurement exception. Only the code and the title are required."

__all__ = [
    "CHOICE_TEXT",
    "FILE_VERB",
    "FILING_INPUTS",
    "FilingInputError",
    "filing_card",
    "filing_input_for",
    "filing_values",
]


@dataclass(frozen=True, slots=True)
class _Field:
    path: str
    label: str
    kind: str = "text"  # text | number | choice
    placeholder: str | None = None
    max_length: int | None = None
    required: bool = False
    multiline: bool = False
    low: float | None = None
    high: float | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (value, title)
    expanded: bool = False
    regex: str | None = None
    error_message: str | None = None


_FIELDS = (
    _Field("code", "Exception code", "choice", "Choose the exception code", 64, required=True,
           error_message="Choose the exception code."),
    _Field("title", "Title", placeholder="Invoice 12% above PO", max_length=300, required=True,
           error_message="Give the exception a title."),
    _Field("amount", "Amount", "number", "18250.00", low=0),
    _Field("currency", "Currency (three-letter ISO code)", placeholder="USD", max_length=3,
           regex="^[A-Za-z]{3}$", error_message="Three letters, e.g. USD."),
    _Field("supplier.name", "Supplier name", max_length=200),
    _Field("supplier.id", "Supplier id", max_length=64),
    _Field("supplier.risk_score", "Supplier risk score", "number", "0-100", low=0, high=100),
    _Field("supplier.on_contract", "Supplier on contract?", "choice", expanded=True,
           choices=(("yes", "Yes"), ("no", "No"), ("unknown", "Don't know"))),
    _Field("category", "Category", max_length=100),
    _Field("cost_center", "Cost center", max_length=64),
    _Field("project_code", "Project code", max_length=64),
    _Field("legal_entity", "Legal entity", max_length=64),
    _Field("urgency", "Urgency", "choice", "How urgent?",
           choices=tuple((u, u.capitalize()) for u in _URGENCIES)),
    _Field("references.po", "PO reference", max_length=200),
    _Field("references.invoice", "Invoice reference", max_length=200),
    _Field("details", "Details (one key=value per line)",
           placeholder="variance_pct=12\nnote=late delivery", multiline=True, max_length=5000),
)  # fmt: skip

# ExceptionRequest field path -> the id of its input on the filing card. The ids are the paths
# themselves; the mapping is what adapters rely on, not that coincidence.
FILING_INPUTS: dict[str, str] = {f.path: f.path for f in _FIELDS}
_LABELS = {FILING_INPUTS[f.path]: f.label for f in _FIELDS}


class FilingInputError(ValueError):
    """A filing card input that cannot be read (a details line that is not key=value). Carries
    the input to flag and a message, naming the input, safe to show the user (also its str)."""

    def __init__(self, input_id: str, message: str) -> None:
        super().__init__(message)
        self.input_id = input_id
        self.message = message


# --- the card --------------------------------------------------------------------------------


def _number(value: object) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _input(field: _Field, value: object, choices: Sequence[tuple[str, str]]) -> Element:
    element: Element = {"id": FILING_INPUTS[field.path], "label": field.label}
    placeholder, error_message = field.placeholder, field.error_message
    if field.kind == "choice" and not choices:  # nothing to choose from: typed instead
        placeholder, error_message = _TYPED_CODE
    if field.required:
        element["isRequired"] = True
    if error_message:
        element["errorMessage"] = error_message
    if field.kind == "number":
        element["type"] = "Input.Number"
        for key, bound in (("min", field.low), ("max", field.high)):
            if bound is not None:
                element[key] = bound
        number = _number(value)
        if number is not None:
            element["value"] = number
    elif field.kind == "choice" and choices:
        element |= {
            "type": "Input.ChoiceSet",
            "style": "expanded" if field.expanded else "compact",
            "choices": [{"title": title, "value": v} for v, title in choices],
        }
        if isinstance(value, str) and value in {v for v, _ in choices}:
            element["value"] = value
    else:
        element["type"] = "Input.Text"
        if field.multiline:
            element["isMultiline"] = True
        if field.max_length is not None:
            element["maxLength"] = field.max_length
        if field.regex:
            element["regex"] = field.regex
        if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value):
            element["value"] = str(value)[: field.max_length]
    if placeholder:
        element["placeholder"] = placeholder
    return {"type": element.pop("type"), **element}


def _code_choices(taxonomy: Sequence[tuple[str, str]], titled: bool) -> list[tuple[str, str]]:
    if titled:
        return [(code, truncate(f"{code}: {title}", CHOICE_TEXT)) for code, title in taxonomy]
    return [(code, code) for code, _ in taxonomy]


def filing_input_for(loc: Sequence[str | int]) -> str | None:
    """The filing card input to flag for a validation error at `loc` (a pydantic error's loc,
    e.g. ("supplier", "risk_score"), or a dotted field "supplier.risk_score"), or None when no
    input of the card holds that field."""
    parts = [p for item in loc for p in str(item).split(".")]
    for end in range(len(parts), 0, -1):
        path = ".".join(parts[:end])
        if path in FILING_INPUTS:
            return FILING_INPUTS[path]
        nested = next((p for p in FILING_INPUTS if p.startswith(path + ".")), None)
        if nested is not None:
            return FILING_INPUTS[nested]
    return None


def filing_card(
    *,
    taxonomy: Sequence[tuple[str, str]],
    values: Mapping[str, object] = _NOTHING,
    errors: Mapping[str, str] = _NOTHING,
) -> dict[str, Any]:
    """The filing form as a card. `taxonomy` is (code, title) pairs in the order to offer them
    (none: the code is typed). `values` (input id -> what was typed, e.g. the invoke's data)
    fill the inputs again; `errors` (input id or field path -> message) are shown in attention
    colour under their inputs, or at the top when no input holds the field. A taxonomy too
    large for the card is offered by code only, then typed. Read the invoke with
    `filing_values`."""
    placed: dict[str, list[str]] = {}
    for key, message in errors.items():
        target = filing_input_for([key]) or ""
        label = _LABELS[target].split(" (")[0] if target else key
        shown = message if message.startswith(label) else f"{label}: {message}"
        placed.setdefault(target, []).append(shown)

    def problems(target: str) -> list[Element]:
        shown = placed.get(target, [])
        more = len(shown) - ERRORS_SHOWN
        notes = [attention(m) for m in shown[:ERRORS_SHOWN]]
        return notes + ([attention(f"{more} more problems")] if more > 0 else [])

    def build(codes: Sequence[tuple[str, str]], echo: int | None) -> dict[str, Any]:
        body: list[Element] = [text_block(_INTRO, NOTICE_TEXT), *problems("")]
        for field in _FIELDS:
            input_id = FILING_INPUTS[field.path]
            choices = codes if field.path == "code" else field.choices
            value = values.get(input_id) if echo != 0 else None
            if isinstance(value, str) and echo is not None:
                value = value[:echo]
            body += [_input(field, value, choices), *problems(input_id)]
        action = {"type": "Action.Execute", "title": "File", "verb": FILE_VERB, "style": "positive"}
        return card(body, fallback="File a procurement exception", actions=[action])

    # What gives way when the card is too large: code titles, then the code picker, then long
    # typed values, then the typed values.
    attempts = [
        (_code_choices(taxonomy, True), None),
        (_code_choices(taxonomy, False), None),
        ([], None),
        ([], ECHO_SHORT),
        ([], 0),
    ]
    for codes, echo in attempts:
        built = build(codes, echo)
        if card_bytes(built) <= CARD_BUDGET:
            return built
    raise ValueError(f"the filing card does not fit in {CARD_BUDGET} bytes")


# --- reading the invoke back -----------------------------------------------------------------


def _typed(field: _Field, value: object) -> str | int | float | None:
    """What an input sent: text stripped (None when empty); a number input's number as sent."""
    input_id = FILING_INPUTS[field.path]
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value if field.kind == "number" else str(value)
    raise FilingInputError(input_id, f"{_LABELS[input_id]}: expected text.")


def _details(text: str) -> dict[str, Any]:
    try:
        return parse_detail_lines(text)
    except ValueError as error:
        raise FilingInputError(FILING_INPUTS["details"], f"Details {error}") from None


def filing_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """The raw request dict from a filing card's invoke `value.action.data`.

    Keys that are not inputs of the card are ignored; empty inputs are left out; supplier and
    references are nested; amount and risk score stay as sent (typed strings, for the caller's
    validation to name a bad number); on-contract becomes true/false (omitted for "don't
    know"); the currency is upper-cased; details lines are parsed as key=value, and a line that
    is not raises FilingInputError (a ValueError) naming the input. The requester is not here:
    the caller fills it in from the actor.
    """
    raw: dict[str, Any] = {}
    for field in _FIELDS:
        path, input_id = field.path, FILING_INPUTS[field.path]
        typed = _typed(field, data.get(input_id))
        if typed is None:
            continue
        value: Any = typed
        if path == "currency":
            value = str(typed).upper()
        elif path == "supplier.on_contract":
            if typed not in _CONTRACT:
                raise FilingInputError(
                    input_id, "Supplier on contract?: choose yes, no or don't know."
                )
            value = _CONTRACT[str(typed)]
        elif path == "details":
            value = _details(str(typed))
        if value is None or value == {}:
            continue
        put(raw, path, value)
    return raw

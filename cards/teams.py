"""A CardView as an Adaptive Card 1.5 for Microsoft Teams: the approval card (with its rationale
input, Action.Execute buttons and refresh), short text replies, and (re-exported from
cards.teams_filing) the filing card and the pure shaping of its invoke data.

Pure functions of their inputs. The card carries the same content as the Slack card and stays
under MAX_CARD_BYTES however long the case: when it would not, history, escalations, rules,
facts and (last) the route are folded, with a note saying how many entries were left out.

What comes back: an `adaptiveCard/action` invoke carries `value.action = {"type":
"Action.Execute", "verb": ..., "data": {...}}`, the card's inputs merged into `data`. Read a
press with `parse_action`; answer it with the re-rendered card (errors go ON the card: pass
`error=` or a view with a `notice`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cards import actions
from cards.teams_approval import (
    MAX_FACTS,
    RATIONALE_INPUT,
    RATIONALE_MAX,
    REFRESH_VERB,
    approval_card,
    error_card,
    fallback_text,
)
from cards.teams_elements import (
    ACTIVITY_RESERVE,
    CARD_BUDGET,
    MAX_CARD_BYTES,
    MAX_REFRESH_USERS,
    Element,
    card,
    card_bytes,
    fold_to_fit,
    line,
    note,
    run,
)
from cards.teams_filing import (
    FILE_VERB,
    FILING_INPUTS,
    FilingInputError,
    filing_card,
    filing_input_for,
    filing_values,
)

__all__ = [
    "ACTIVITY_RESERVE",
    "CARD_BUDGET",
    "FILE_VERB",
    "FILING_INPUTS",
    "MAX_CARD_BYTES",
    "MAX_FACTS",
    "MAX_REFRESH_USERS",
    "RATIONALE_INPUT",
    "RATIONALE_MAX",
    "REFRESH_VERB",
    "CardPress",
    "FilingInputError",
    "approval_card",
    "card_bytes",
    "error_card",
    "fallback_text",
    "filing_card",
    "filing_input_for",
    "filing_values",
    "parse_action",
    "text_card",
]

TEXT_LINES = 200  # lines of a text card; more are counted in a note
TEXT_LINE = 1000  # characters of one line of a text card


# --- reading a press back --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CardPress:
    """A button pressed on the approval card, with the rationale typed (None when empty)."""

    action_id: str
    case_id: int
    step_id: int
    rationale: str | None


def parse_action(action: Mapping[str, Any]) -> CardPress | None:
    """The press in an `adaptiveCard/action` invoke's `value.action`, or None when it is not one
    of ours (unknown verb, a data that does not name a case and step): log it and drop it.
    REFRESH_VERB and FILE_VERB are not presses; check for them first."""
    verb = action.get("verb")
    data = action.get("data")
    if verb not in actions.ALL or not isinstance(data, Mapping):
        return None
    if data.get("action", verb) != verb:
        return None
    case_id, step_id = data.get("case"), data.get("step")
    if not all(isinstance(v, int | str) and not isinstance(v, bool) for v in (case_id, step_id)):
        return None
    parsed = actions.parse_button_value(f"case:{case_id}:step:{step_id}")
    if parsed is None:
        return None
    typed = data.get(RATIONALE_INPUT)
    rationale = (typed.strip() or None) if isinstance(typed, str) else None
    return CardPress(str(verb), parsed[0], parsed[1], rationale)


# --- text replies ----------------------------------------------------------------------------


def text_card(text: str, *, preformatted: bool = False) -> dict[str, Any]:
    """A short reply as a card, shown as typed (no markdown); `preformatted` in a monospace
    font (the help). A long text keeps its first lines and says how many were left out."""
    style = {"fontType": "monospace"} if preformatted else {}
    paragraphs: list[Element] = []
    gap = False
    for raw in text.splitlines():
        if not raw.strip():
            gap = bool(paragraphs)
            continue
        spacing = {"spacing": "medium"} if gap else {}
        paragraphs.append(line(run(raw, TEXT_LINE, **style), **spacing))
        gap = False
    paragraphs = paragraphs or [line(" ")]
    shown = paragraphs[:TEXT_LINES]

    def build(kept: Sequence[int]) -> dict[str, Any]:
        more = len(paragraphs) - kept[0]
        body = [*shown[: kept[0]], *([note(f"{more} more lines not shown")] if more else [])]
        return card(body, fallback=text.strip() or " ")

    fitted = fold_to_fit(build, [len(shown)], order=[0], floors=[0])
    if fitted is None:
        raise ValueError("a text card does not fit")  # a note alone always fits
    return fitted

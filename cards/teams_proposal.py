"""A policy proposal's card as an Adaptive Card 1.5 for Teams.

While it is a proposal: one text input (a note to an approval, the reason of a rejection) and
two Action.Execute buttons, verb = the action id, data = {"policy": version id, "action": verb}
with the input merged in as data[TEXT_INPUT]. Whether a rejection has its reason is for the
handler to say; the refusal comes back on the card (`error`), the text typed kept in the input.
Under CARD_BUDGET bytes: the diff's lines give way first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cards import actions
from cards.limits import truncate
from cards.proposal_view import ProposalView
from cards.teams_elements import (
    ACTION_TITLE,
    CARD_BUDGET,
    FALLBACK_TEXT,
    ITEM_TEXT,
    SHORT_TEXT,
    TITLE_TEXT,
    Element,
    attention,
    card,
    fold_to_fit,
    heading,
    line,
    note,
    run,
)
from cards.view import Button

TEXT_INPUT = "policy_text"  # the id of the note / reason input; its text arrives as data[id]
TEXT_MAX = 3000
_STYLE = {"primary": "positive", "danger": "destructive"}
_STATE_EMOJI = {"proposed": "⏳", "active": "✅", "superseded": "↩️", "rejected": "❌"}


def fallback_text(view: ProposalView) -> str:
    return truncate(f"Policy change: {view.headline}", FALLBACK_TEXT)


def _summary(view: ProposalView) -> list[Element]:
    lines = [
        line(run(f"{view.ref} · Policy change", TITLE_TEXT, size="large", weight="bolder")),
        line(
            run(f"Proposed by {view.proposer}: ", SHORT_TEXT, weight="bolder"),
            run(view.reason, ITEM_TEXT),
        ),
        line(
            f"{_STATE_EMOJI.get(view.state, '')} ".lstrip(),
            run("Status: ", SHORT_TEXT, weight="bolder"),
            run(view.state.capitalize(), SHORT_TEXT),
        ),
    ]
    if view.decision:
        lines.append(
            line(
                "☑️ ", run("Decision: ", SHORT_TEXT, weight="bolder"), run(view.decision, ITEM_TEXT)
            )
        )
    if view.notice:
        lines.append(attention(view.notice))
    return lines


def _action(button: Button) -> Element:
    version_id = actions.parse_policy_button_value(button.value)
    if version_id is None or button.action_id not in actions.POLICY_DECISIONS:
        raise ValueError(f"button {button.action_id!r} is not a policy proposal's")
    action: Element = {
        "type": "Action.Execute",
        "title": truncate(button.label, ACTION_TITLE) or button.action_id,
        "verb": button.action_id,
        "data": {"policy": version_id, "action": button.action_id},
    }
    if button.style in _STYLE:
        action["style"] = _STYLE[button.style]
    return action


def _text_input(typed: str) -> Element:
    field: Element = {
        "type": "Input.Text",
        "id": TEXT_INPUT,
        "label": "Note or reason",
        "isMultiline": True,
        "maxLength": TEXT_MAX,
        "placeholder": "A note to approve (optional); your reason to reject (required)",
    }
    if typed:
        field["value"] = typed[:TEXT_MAX]
    return field


def proposal_card(
    view: ProposalView, *, error: str | None = None, typed: str = ""
) -> dict[str, Any]:
    """The card; `error` (a refusal) shows above the input, which keeps `typed`."""
    summary = _summary(view)
    diff = [
        line(run(text or " ", ITEM_TEXT, fontType="monospace"), spacing="none")
        for text in view.diff
    ]
    backtest = [line("🧪 ", run(text, ITEM_TEXT)) for text in view.backtest]
    buttons = [_action(b) for b in view.buttons]

    def build(kept: Sequence[int]) -> dict[str, Any]:
        left_out = len(diff) - kept[0] + view.diff_omitted
        body = [*summary, heading("Diff"), *diff[: kept[0]]]
        if left_out:
            body.append(note(f"{left_out} more lines of the diff not shown"))
        body += backtest
        if error:
            body.append(attention(error))
        if buttons:
            body.append(_text_input(typed))
        return card(body, fallback=fallback_text(view), actions=buttons)

    fitted = fold_to_fit(build, [len(diff)], order=[0], floors=[0])
    if fitted is None:
        raise ValueError(f"the card of {view.ref[:40]!r} does not fit in {CARD_BUDGET} bytes")
    return fitted

"""A policy proposal's card as Slack Block Kit, and the modal asking why it is rejected.

Pure functions of their inputs, within Slack's limits (cards.slack_blocks): the diff goes in at
most DIFF_SECTIONS code blocks, the rest counted in a note.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cards import actions
from cards.limits import truncate
from cards.proposal_view import ProposalView
from cards.slack_blocks import (
    ITEM_TEXT,
    MESSAGE_TEXT,
    PLACEHOLDER,
    PRIVATE_METADATA,
    SECTION_TEXT,
    SHORT_TEXT,
    TEXT_INPUT_MAX,
    VIEW_TITLE,
    Block,
    button,
    chunk_lines,
    context,
    escape,
    header,
    md,
    plain,
    section,
)
from cards.slack_blocks import (
    actions as actions_block,
)

REJECT_CALLBACK = "pol_reject_reason"
REASON_BLOCK = "policy_reason"
REASON_INPUT = "policy_reason_input"
DIFF_SECTIONS = 3  # code blocks of diff on a card
CONFIRM_TITLE, CONFIRM_TEXT, CONFIRM_BUTTON = 100, 300, 30  # Slack's confirm dialog limits

_STATE_EMOJI = {
    "proposed": ":hourglass_flowing_sand:",
    "active": ":white_check_mark:",
    "superseded": ":leftwards_arrow_with_hook:",
    "rejected": ":x:",
}


def fallback_text(view: ProposalView) -> str:
    return md(f"Policy change: {view.headline}", MESSAGE_TEXT)


def _summary(view: ProposalView) -> Block:
    emoji = _STATE_EMOJI.get(view.state, "")
    lines = [
        f"*Proposed by {md(view.proposer, SHORT_TEXT)}:* {md(view.reason, ITEM_TEXT)}",
        f"{emoji} *Status:* {md(view.state.capitalize(), SHORT_TEXT)}".strip(),
    ]
    if view.decision:
        lines.append(f":ballot_box_with_check: *Decision:* {md(view.decision, ITEM_TEXT)}")
    return section("\n".join(lines))


def _diff_blocks(view: ProposalView) -> list[Block]:
    chunks = chunk_lines([escape(line) for line in view.diff], SECTION_TEXT - 8)
    omitted = view.diff_omitted
    if len(chunks) > DIFF_SECTIONS:
        omitted += sum(chunk.count("\n") + 1 for chunk in chunks[DIFF_SECTIONS:])
        chunks = chunks[:DIFF_SECTIONS]
    blocks = [section(f"```{chunk}```") for chunk in chunks]
    if omitted:
        blocks.append(context([f"_{omitted} more lines of the diff not shown_"]))
    return blocks or [context(["_The diff is empty._"])]


def _confirm(view: ProposalView) -> dict[str, Any]:
    """Slack's own dialog before an approval, which puts the version in force at once."""
    return {
        "title": plain(f"Approve {view.ref}?", CONFIRM_TITLE),
        "text": plain(
            f"{view.ref} becomes the active policy at once, for every new case.", CONFIRM_TEXT
        ),
        "confirm": plain("Approve", CONFIRM_BUTTON),
        "deny": plain("Cancel", CONFIRM_BUTTON),
    }


def _buttons(view: ProposalView) -> list[Block]:
    elements = []
    for b in view.buttons:
        element = button(b.action_id, b.label, b.value, b.style)
        if b.action_id == actions.POLICY_APPROVE:
            element["confirm"] = _confirm(view)
        elements.append(element)
    return [actions_block(elements)] if elements else []


def proposal_message(view: ProposalView) -> dict[str, Any]:
    """The card: `{"text": fallback, "blocks": [...]}` for chat.postMessage and chat.update."""
    blocks = [header(f"{view.ref} · Policy change"), _summary(view), *_diff_blocks(view)]
    if view.backtest:
        blocks.append(context([f":test_tube: {md(line, ITEM_TEXT)}" for line in view.backtest]))
    return {"text": fallback_text(view), "blocks": [*blocks, *_buttons(view)]}


# --- the reason for a rejection ----------------------------------------------------------------


def reject_modal(*, ref: str, private_metadata: str) -> dict[str, Any]:
    """The modal (views.open) asking why `ref` is rejected; the reason is required (Slack will
    not submit it empty) and read back with `reason_value`."""
    if len(private_metadata) > PRIVATE_METADATA:
        raise ValueError(f"private_metadata is longer than {PRIVATE_METADATA} characters")
    title = f"Reject {ref}"
    return {
        "type": "modal",
        "callback_id": REJECT_CALLBACK,
        "private_metadata": private_metadata,
        "title": plain(title if len(title) <= VIEW_TITLE else "Reject", VIEW_TITLE),
        "submit": plain("Reject", VIEW_TITLE),
        "close": plain("Cancel", VIEW_TITLE),
        "blocks": [
            section(f"Why do you reject *{md(ref, SHORT_TEXT)}*? The proposer is told."),
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": plain("Your reason", SHORT_TEXT),
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_INPUT,
                    "multiline": True,
                    "max_length": TEXT_INPUT_MAX,
                    "placeholder": plain("Kept in the audit log", PLACEHOLDER),
                },
            },
        ],
    }


def reject_metadata(version_id: int, channel: str | None) -> str:
    return json.dumps({"policy": version_id, "channel": channel})


def read_reject_metadata(private_metadata: str) -> tuple[int, str | None] | None:
    """(version id, channel) as `reject_metadata` wrote them, or None."""
    try:
        meta = json.loads(private_metadata)
    except (ValueError, RecursionError):
        return None
    if not isinstance(meta, dict):
        return None
    version, channel = meta.get("policy"), meta.get("channel")
    if not isinstance(version, int) or isinstance(version, bool):
        return None
    if actions.parse_policy_button_value(actions.policy_button_value(version)) is None:
        return None  # not a version id a button carries
    if channel is not None and not isinstance(channel, str):
        return None
    return version, channel


def reason_value(state_values: Mapping[str, Any]) -> str | None:
    """The reason typed in the modal, stripped; None when it is empty or missing."""
    element = (state_values.get(REASON_BLOCK) or {}).get(REASON_INPUT) or {}
    text = element.get("value") if isinstance(element, Mapping) else None
    return (truncate(text.strip(), TEXT_INPUT_MAX) or None) if isinstance(text, str) else None

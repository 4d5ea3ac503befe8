"""A remediation item's card and a person's digest as Slack Block Kit, and the modal asking
the root cause and fix when an item is closed. Pure functions of their inputs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cards import actions
from cards.limits import truncate
from cards.remediation_view import DigestView, RemediationView
from cards.slack_blocks import (
    ITEM_TEXT,
    MESSAGE_BLOCKS,
    MESSAGE_TEXT,
    PLACEHOLDER,
    PRIVATE_METADATA,
    SHORT_TEXT,
    TEXT_INPUT_MAX,
    VIEW_TITLE,
    Block,
    button,
    context,
    header,
    link,
    md,
    plain,
    section,
)
from cards.slack_blocks import actions as actions_block

CLOSE_CALLBACK = "rem_close_reason"
ROOT_CAUSE_BLOCK = "rem_root_cause"
ROOT_CAUSE_INPUT = "rem_root_cause_input"
_STATUS_EMOJI = {
    "open": ":rotating_light:",
    "acknowledged": ":eyes:",
    "closed": ":white_check_mark:",
}


def fallback_text(view: RemediationView) -> str:
    return md(view.headline, MESSAGE_TEXT)


def _list(values: tuple[str, ...], omitted: int = 0) -> str:
    more = f" and {omitted} more" if omitted else ""
    return (", ".join(values) or "none") + more


def remediation_message(view: RemediationView) -> dict[str, Any]:
    """The card: `{"text": fallback, "blocks": [...]}` for chat.postMessage and chat.update."""
    key = f" ({md(view.key, SHORT_TEXT)})" if view.key else ""
    late = " *OVERDUE*" if view.overdue else ""
    lines = [
        f"*{md(view.code, SHORT_TEXT)}*{key}: {md(view.code_title, ITEM_TEXT)}",
        f"{_STATUS_EMOJI.get(view.status, '')} *Status:* {view.status.capitalize()}  "
        f"*Owner:* {md(view.owner, SHORT_TEXT)}",
        f"*Opened:* {view.opened}  *Due:* {view.due}{late}",
    ]
    evidence = [
        f"*Cases:* {md(_list(view.cases, view.cases_omitted), ITEM_TEXT)}",
        f"*Suppliers:* {md(_list(view.suppliers), ITEM_TEXT)}",
        f"*Cost centers:* {md(_list(view.cost_centers), ITEM_TEXT)}",
        f"*Leakage:* {md(_list(view.leakage), ITEM_TEXT)}",
    ]
    if view.playbook:
        evidence.append(f"*Playbook:* {link(view.playbook, view.playbook)}")
    blocks: list[Block] = [
        header(f"{view.ref} · Remediation"),
        section("\n".join(lines)),
        section("\n".join(evidence)),
    ]
    history = [
        f"Acknowledged {md(view.acknowledged, SHORT_TEXT)}" if view.acknowledged else "",
        f"Escalated {md(view.escalated, SHORT_TEXT)}" if view.escalated else "",
        f"Closed {md(view.closed, SHORT_TEXT)}" if view.closed else "",
    ]
    if any(history):
        blocks.append(context([text for text in history if text]))
    if view.root_cause:
        blocks.append(section(f"*Root cause and fix:* {md(view.root_cause, ITEM_TEXT)}"))
    elements = [button(b.action_id, b.label, b.value, b.style) for b in view.buttons]
    if elements:
        blocks.append(actions_block(elements))
    return {"text": fallback_text(view), "blocks": blocks}


def digest_message(view: DigestView) -> dict[str, Any]:
    """One section per waiting case or item, with its button; within Slack's block limit."""
    blocks: list[Block] = [section(md(view.headline, ITEM_TEXT))]
    room = MESSAGE_BLOCKS - 2  # the headline, and the note of what is left out
    for entry in view.entries[:room]:
        due = f", due {entry.due}" if entry.due else ""
        late = " *OVERDUE*" if entry.overdue else ""
        block = section(
            f"*{md(entry.ref, SHORT_TEXT)}* {md(entry.title, ITEM_TEXT)}\n"
            f"waiting since {entry.since}{due}{late}"
        )
        b = entry.button
        block["accessory"] = button(b.action_id, b.label, b.value, b.style)
        blocks.append(block)
    if len(view.entries) > room:
        blocks.append(context([f"_{len(view.entries) - room} more: type /approvals_"]))
    return {"text": md(view.headline, MESSAGE_TEXT), "blocks": blocks}


def close_modal(*, ref: str, private_metadata: str) -> dict[str, Any]:
    """The modal (views.open) asking the root cause and fix of `ref`; required."""
    if len(private_metadata) > PRIVATE_METADATA:
        raise ValueError(f"private_metadata is longer than {PRIVATE_METADATA} characters")
    title = f"Close {ref}"
    return {
        "type": "modal",
        "callback_id": CLOSE_CALLBACK,
        "private_metadata": private_metadata,
        "title": plain(title if len(title) <= VIEW_TITLE else "Close", VIEW_TITLE),
        "submit": plain("Close item", VIEW_TITLE),
        "close": plain("Cancel", VIEW_TITLE),
        "blocks": [
            section(f"What was the root cause of *{md(ref, SHORT_TEXT)}*, and what fixed it?"),
            {
                "type": "input",
                "block_id": ROOT_CAUSE_BLOCK,
                "label": plain("Root cause and fix", SHORT_TEXT),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ROOT_CAUSE_INPUT,
                    "multiline": True,
                    "max_length": TEXT_INPUT_MAX,
                    "placeholder": plain("Kept in the audit log and on the card", PLACEHOLDER),
                },
            },
        ],
    }


def close_metadata(item_id: int, channel: str | None) -> str:
    return json.dumps({"remediation": item_id, "channel": channel})


def read_close_metadata(private_metadata: str) -> tuple[int, str | None] | None:
    """(item id, channel) as `close_metadata` wrote them, or None."""
    try:
        meta = json.loads(private_metadata)
    except (ValueError, RecursionError):
        return None
    if not isinstance(meta, dict):
        return None
    item, channel = meta.get("remediation"), meta.get("channel")
    if not isinstance(item, int) or isinstance(item, bool):
        return None
    if actions.parse_remediation_button_value(actions.remediation_button_value(item)) is None:
        return None
    if channel is not None and not isinstance(channel, str):
        return None
    return item, channel


def root_cause_value(state_values: Mapping[str, Any]) -> str | None:
    """The root cause typed in the modal, stripped; None when it is empty or missing."""
    element = (state_values.get(ROOT_CAUSE_BLOCK) or {}).get(ROOT_CAUSE_INPUT) or {}
    text = element.get("value") if isinstance(element, Mapping) else None
    return (truncate(text.strip(), TEXT_INPUT_MAX) or None) if isinstance(text, str) else None

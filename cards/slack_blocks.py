"""Block Kit building blocks: Slack's limits as named constants, mrkdwn escaping, and small
constructors that never emit a block Slack would refuse.

Pure data; no I/O and no SDK. The limits are Slack's own (Block Kit reference, chat.postMessage,
views.open); every constructor cuts user text to fit and says so (cards.limits.TRUNCATION_MARK).
Ids and button values are ours, not user text: an id or value over its limit is a bug, and raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from cards.limits import TRUNCATION_MARK, truncate

Block = dict[str, Any]

# --- Slack's limits -------------------------------------------------------------------------
MESSAGE_BLOCKS = 50  # blocks in one message (chat.postMessage, chat.update, postEphemeral)
VIEW_BLOCKS = 100  # blocks in a modal or a Home tab view
MESSAGE_TEXT = 4000  # top-level `text`: Slack's recommended maximum (it cuts at 40,000)
SECTION_TEXT = 3000  # a section's text
SECTION_FIELDS = 10  # fields in one section
FIELD_TEXT = 2000  # each field of a section
HEADER_TEXT = 150  # a header block's plain text
CONTEXT_ELEMENTS = 10  # elements in one context block
CONTEXT_TEXT = 3000  # each text element of a context block (a text object's maximum)
ACTIONS_ELEMENTS = 25  # elements in one actions block
BUTTON_TEXT = 75  # a button's label
BUTTON_VALUE = 2000  # a button's value
BUTTON_URL = 3000  # a link button's url
ACTION_ID = 255  # an element's action_id
BLOCK_ID = 255  # a block's block_id
INPUT_LABEL = 2000  # an input block's label
INPUT_HINT = 2000  # an input block's hint
PLACEHOLDER = 150  # placeholder of an input element
TEXT_INPUT_MAX = 3000  # the most a plain_text_input may be told to accept (max_length)
OPTION_TEXT = 75  # an option's label
OPTION_VALUE = 150  # an option's value
OPTION_GROUP_LABEL = 75  # an option group's label
SELECT_OPTIONS = 100  # options (or option groups) of a static_select
RADIO_OPTIONS = 10  # options of a radio_buttons element
VIEW_TITLE = 24  # a modal's title, submit and close labels
PRIVATE_METADATA = 3000  # a view's private_metadata
CALLBACK_ID = 255  # a view's callback_id

# --- Our own readability caps (not Slack's), so that many lines share a section --------------
ITEM_TEXT = 1000  # one rule's reason, one history entry
SHORT_TEXT = 200  # a label, a reference, a timestamp
LINK_URL = 1000  # a longer url is shown as text, not linked

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SAFE_URL = re.compile(r"^(https?://|mailto:)[^\s<>|]+$", re.IGNORECASE)


def escape(text: str) -> str:
    """User text made safe for mrkdwn: &, < and > escaped, so no link, mention or
    `<!channel>` can be smuggled into a card."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def md(text: str, limit: int) -> str:
    """`text` escaped for mrkdwn and cut to at most `limit` characters *after* escaping, never
    inside an entity; the cut is marked."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    budget = max(0, limit - len(TRUNCATION_MARK))
    out: list[str] = []
    used = 0
    for ch in text:
        piece = _ESCAPES.get(ch, ch)
        if used + len(piece) > budget:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out).rstrip() + TRUNCATION_MARK


def link(url: str | None, label: str, limit: int = SHORT_TEXT) -> str:
    """`<url|label>` when the url is a plain http(s)/mailto link, else the escaped label."""
    text = md(label, limit)
    if url is None or len(url) > LINK_URL or not _SAFE_URL.match(url):
        return text
    return f"<{escape(url)}|{text.replace('|', '¦')}>"


def plain(text: str, limit: int) -> dict[str, Any]:
    """A plain_text object (no escaping: Slack shows plain text as typed)."""
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _checked_id(kind: str, value: str, limit: int) -> str:
    if not value or len(value) > limit:
        raise ValueError(f"{kind} {value[:40]!r} must be 1 to {limit} characters")
    return value


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def section(text: str, *, block_id: str | None = None) -> Block:
    """A mrkdwn section; `text` is already escaped mrkdwn. Longer than the limit is cut."""
    if len(text) > SECTION_TEXT:
        text = text[: SECTION_TEXT - len(TRUNCATION_MARK)] + TRUNCATION_MARK
    block: Block = {"type": "section", "text": mrkdwn(text or " ")}
    if block_id is not None:
        block["block_id"] = _checked_id("block_id", block_id, BLOCK_ID)
    return block


def fields_section(fields: Sequence[str]) -> Block:
    """A section of up to SECTION_FIELDS mrkdwn fields (already escaped), each cut to fit."""
    if not 0 < len(fields) <= SECTION_FIELDS:
        raise ValueError(f"a section holds 1 to {SECTION_FIELDS} fields, not {len(fields)}")
    return {
        "type": "section",
        "fields": [
            mrkdwn(f if len(f) <= FIELD_TEXT else f[: FIELD_TEXT - 20] + TRUNCATION_MARK)
            for f in fields
        ],
    }


def context(texts: Sequence[str]) -> Block:
    """A context block of mrkdwn texts (already escaped); at most CONTEXT_ELEMENTS are kept."""
    return {
        "type": "context",
        "elements": [mrkdwn(t[:CONTEXT_TEXT] or " ") for t in texts[:CONTEXT_ELEMENTS]],
    }


def divider() -> Block:
    return {"type": "divider"}


def button(action_id: str, label: str, value: str, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "action_id": _checked_id("action_id", action_id, ACTION_ID),
        "text": plain(label, BUTTON_TEXT),
        "value": _checked_id("button value", value, BUTTON_VALUE),
    }
    if style in ("primary", "danger"):
        element["style"] = style
    return element


def actions(elements: Sequence[dict[str, Any]], *, block_id: str | None = None) -> Block:
    if not 0 < len(elements) <= ACTIONS_ELEMENTS:
        raise ValueError(f"an actions block holds 1 to {ACTIONS_ELEMENTS} elements")
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id is not None:
        block["block_id"] = _checked_id("block_id", block_id, BLOCK_ID)
    return block


def chunk_lines(lines: Iterable[str], limit: int = SECTION_TEXT) -> list[str]:
    """Lines joined with newlines into as few texts of at most `limit` characters as the order
    allows; a single line longer than `limit` is cut."""
    chunks: list[str] = []
    current = ""
    for raw in lines:
        line = raw if len(raw) <= limit else raw[: limit - len(TRUNCATION_MARK)] + TRUNCATION_MARK
        if current and len(current) + 1 + len(line) <= limit:
            current += "\n" + line
            continue
        if current:
            chunks.append(current)
        current = line
    if current:
        chunks.append(current)
    return chunks


def fold_lines(
    heading: str,
    lines: Sequence[str],
    max_sections: int,
    *,
    keep: str,
    omitted: str,
) -> list[str]:
    """Section texts for `heading` + `lines` in at most `max_sections` sections.

    When they do not fit, lines are left out (the last ones if keep="first", the earliest if
    keep="last") and a note says how many: `omitted` is formatted with the count, e.g.
    "_{} earlier entries not shown_".
    """
    if max_sections < 1:
        return []
    chunks = chunk_lines([heading, *lines])
    if len(chunks) <= max_sections:
        return chunks

    def attempt(kept: int) -> list[str]:
        note = omitted.format(len(lines) - kept)
        if keep == "last":
            chosen = list(lines[len(lines) - kept :]) if kept else []
            return chunk_lines([heading, note, *chosen])
        return chunk_lines([heading, *lines[:kept], note])

    low, high = 0, len(lines) - 1  # the largest number of lines that still fits
    while low < high:
        mid = (low + high + 1) // 2
        if len(attempt(mid)) <= max_sections:
            low = mid
        else:
            high = mid - 1
    return attempt(low)


def allot(needed: Sequence[int], budget: int) -> list[int]:
    """Share `budget` blocks among parts needing `needed[i]` each, in priority order: every
    non-empty part gets one block first, then each part in turn takes what it still needs."""
    given = [min(1, n) for n in needed]
    left = budget - sum(given)
    for i, n in enumerate(needed):
        extra = max(0, min(n - given[i], left))
        given[i] += extra
        left -= extra
    return given

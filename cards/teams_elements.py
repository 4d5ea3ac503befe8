"""Adaptive Card building blocks: Teams' limits as named constants, text that cannot be read as
markdown, and the fold that keeps a card under the message size limit.

Pure data; no I/O and no SDK. User text goes into `RichTextBlock` runs, which Adaptive Cards never
parse as markdown, so a supplier name cannot become a link; where the format only has markdown
text (a `TextBlock`, a `FactSet`), `defang` breaks link syntax. Every constructor cuts user text to
fit and says so (cards.limits.TRUNCATION_MARK).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from cards.limits import truncate

Element = dict[str, Any]

SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"  # Action.Execute and refresh need 1.4; Teams renders 1.5

# --- Teams' limits ---------------------------------------------------------------------------
# A Teams message, card included, must stay under 28 KB. We measure a card as
# len(json.dumps(card).encode()): \u-escaped non-ASCII counts 6 or 12 bytes a character, never
# less than its UTF-8 size, so the measure is an upper bound of what goes over the wire.
MAX_CARD_BYTES = 28_000
# Room left for the activity that carries the card (type, summary, attachment wrapper): cards
# are folded to fit MAX_CARD_BYTES - ACTIVITY_RESERVE. Keep the activity's summary short
# (cards.teams.fallback_text is at most FALLBACK_TEXT characters).
ACTIVITY_RESERVE = 1_000
CARD_BUDGET = MAX_CARD_BYTES - ACTIVITY_RESERVE
MAX_REFRESH_USERS = 60  # userIds of a card's refresh: Teams refreshes for at most 60 users

# --- Our own readability caps (characters) -----------------------------------------------------
TITLE_TEXT = 200  # the card's title line
ITEM_TEXT = 300  # a rule's reason, a step's summary, a history entry, the exception title
NOTICE_TEXT = 500  # a notice or an error on the card
SHORT_TEXT = 100  # a label, a reference, a tier, a timestamp
FACT_VALUE_TEXT = 300  # one fact's value
FLAGS_TEXT = 500  # all risk flags together
FALLBACK_TEXT = 250  # fallbackText, and the summary of the activity around a card
ACTION_TITLE = 40  # the title of a button
LINK_URL = 1000  # a longer url is shown as text, not linked

_SAFE_URL = re.compile(r"^(https?://|mailto:)[^\s<>\"]+$", re.IGNORECASE)
_ZWSP = "\u200b"


def card_bytes(card: dict[str, Any]) -> int:
    """The size a card is measured by (see MAX_CARD_BYTES)."""
    return len(json.dumps(card).encode())


def defang(text: str) -> str:
    """Markdown text with link syntax broken: a zero-width space after every `]` stops
    `[label](url)` and reference links from forming, and is invisible to the reader."""
    return text.replace("]", "]" + _ZWSP)


def safe_url(url: str | None) -> str | None:
    """`url` if it is a plain http(s)/mailto link of at most LINK_URL characters, else None."""
    if url is None or len(url) > LINK_URL or not _SAFE_URL.match(url):
        return None
    return url


def card(
    body: Sequence[Element],
    *,
    fallback: str,
    actions: Sequence[Element] = (),
    refresh: Element | None = None,
) -> dict[str, Any]:
    """A top-level Adaptive Card 1.5."""
    out: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "fallbackText": truncate(fallback, FALLBACK_TEXT),
        "body": list(body),
    }
    if actions:
        out["actions"] = list(actions)
    if refresh is not None:
        out["refresh"] = refresh
    return out


# --- text ---------------------------------------------------------------------------------------


def run(text: str, limit: int, **style: Any) -> str | Element:
    """A TextRun of plain text (never markdown), cut to `limit`; a bare string when unstyled."""
    cut = truncate(text, limit)
    return {"type": "TextRun", "text": cut, **style} if style else cut


def link_run(url: str | None, label: str, limit: int = SHORT_TEXT) -> str | Element:
    """`label` as a link to `url` when the url is safe, else as plain text."""
    target = safe_url(url)
    if target is None:
        return run(label, limit)
    return {
        "type": "TextRun",
        "text": truncate(label, limit) or target[:limit],
        "selectAction": {"type": "Action.OpenUrl", "url": target},
    }


def line(*inlines: str | Element, **props: Any) -> Element:
    """A paragraph of runs: a RichTextBlock (it wraps, and shows its text as typed)."""
    return {"type": "RichTextBlock", "inlines": [i for i in inlines if i != ""] or [" "], **props}


def text_block(text: str, limit: int, **props: Any) -> Element:
    """A wrapping TextBlock; its text is markdown, so user text is defanged."""
    return {
        "type": "TextBlock",
        "text": defang(truncate(text, limit)) or " ",
        "wrap": True,
        **props,
    }


def heading(text: str) -> Element:
    return {"type": "TextBlock", "text": text, "weight": "bolder", "wrap": True, "separator": True}


def attention(text: str) -> Element:
    """A notice or error: a TextBlock in the attention colour."""
    return text_block(text, NOTICE_TEXT, color="attention", weight="bolder")


def note(text: str) -> Element:
    """What a fold left out: subtle text of our own."""
    return {"type": "TextBlock", "text": text, "isSubtle": True, "wrap": True, "spacing": "small"}


# --- folding to fit -----------------------------------------------------------------------------


def fold_to_fit(
    build: Callable[[Sequence[int]], dict[str, Any]],
    counts: Sequence[int],
    *,
    order: Sequence[int],
    floors: Sequence[int],
    budget: int = CARD_BUDGET,
) -> dict[str, Any] | None:
    """`build(kept)` for kept counts that fit `budget` bytes, or None if nothing does.

    `counts[i]` is how many entries list i has; `build` shows `kept[i]` of them (and a note on
    the rest). Lists give way in `order`: each first down to `floors[i]`, then, if that is not
    enough, each down to none. The first list that can fit keeps as many entries as fit.
    """
    kept = list(counts)
    whole = build(kept)
    if card_bytes(whole) <= budget:
        return whole
    for phase in (floors, [0] * len(counts)):
        for i in order:
            floor = min(phase[i], kept[i])
            if kept[i] == floor:
                continue
            trial = [*kept]
            trial[i] = floor
            if card_bytes(build(trial)) > budget:
                kept = trial
                continue
            low, high = floor, kept[i] - 1  # `floor` fits, `kept[i]` does not
            while low < high:
                trial[i] = (low + high + 1) // 2
                if card_bytes(build(trial)) <= budget:
                    low = trial[i]
                else:
                    high = trial[i] - 1
            trial[i] = low
            return build(trial)
    return None


def kept_slice(items: Sequence[Any], kept: int, keep: str) -> list[Any]:
    """The `kept` first (keep="first") or last (keep="last") items."""
    if kept <= 0:
        return []
    return list(items[:kept]) if keep == "first" else list(items[len(items) - kept :])

"""Platform limits as named constants, and truncation that says so."""

from __future__ import annotations

TRUNCATION_MARK = "… (truncated)"

# Console: long free text is cut so a card stays readable in a terminal.
CONSOLE_TEXT = 500
CONSOLE_HISTORY_LINES = 20


def truncate(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut with a visible mark."""
    if len(text) <= limit:
        return text
    keep = max(0, limit - len(TRUNCATION_MARK))
    return text[:keep].rstrip() + TRUNCATION_MARK

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


# A policy proposal's card shows the diff's first lines, each cut to a readable width; the
# rest is counted (the proposer's `/policy diff`, or `approvals policy export`, has it all).
PROPOSAL_DIFF_LINES = 40
PROPOSAL_DIFF_LINE = 200

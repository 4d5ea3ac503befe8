"""The view of a policy proposal's card: what every platform shows of it, already worded.

The card goes to each admin who may approve the proposal; its buttons (Approve, Reject) are
there only while the version is still a proposal, and once it is decided the card says by whom
and why.
"""

from __future__ import annotations

from dataclasses import dataclass

from cards.limits import PROPOSAL_DIFF_LINE, PROPOSAL_DIFF_LINES, truncate
from cards.view import Button

PROPOSED = "proposed"


@dataclass(frozen=True, slots=True)
class ProposalView:
    ref: str  # POL-000002
    proposer: str  # the proposer's name
    reason: str
    state: str  # proposed | active | superseded | rejected
    diff: tuple[str, ...]  # the diff's first lines (diff_excerpt)
    diff_omitted: int = 0  # lines of the diff not shown
    backtest: tuple[str, ...] = ()  # a line or two: cases replayed, changes, load per tier
    decision: str | None = None  # "Approved by Maria Finance at ...: note"
    buttons: tuple[Button, ...] = ()  # only while it is a proposal
    notice: str | None = None  # the answer to a press, shown on the card (Teams)

    @property
    def headline(self) -> str:
        """One line for notifications and screen readers."""
        if self.state == PROPOSED:
            return f"{self.proposer} proposes {self.ref}: {self.reason}"
        return f"{self.ref} ({self.state}): {self.decision or self.reason}"


def diff_excerpt(diff: str) -> tuple[tuple[str, ...], int]:
    """The lines of `diff` a card shows, each cut to PROPOSAL_DIFF_LINE, and how many are left
    out."""
    lines = diff.splitlines()
    shown = tuple(truncate(line, PROPOSAL_DIFF_LINE) for line in lines[:PROPOSAL_DIFF_LINES])
    return shown, len(lines) - len(shown)

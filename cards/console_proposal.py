"""A policy proposal's card as plain text for the local console. The console has no buttons for
it: while it is a proposal, the card says the commands to type."""

from __future__ import annotations

from cards.console import RULE
from cards.limits import CONSOLE_TEXT, truncate
from cards.proposal_view import ProposalView


def render_proposal_console(view: ProposalView) -> str:
    lines = [
        RULE,
        f"{view.ref}  Policy change proposed by {view.proposer}  [{view.state.upper()}]",
        f"Reason: {truncate(view.reason, CONSOLE_TEXT)}",
    ]
    if view.decision:
        lines.append(f"Decision: {truncate(view.decision, CONSOLE_TEXT)}")
    lines.append("Diff:")
    lines += [f"  {text}" for text in view.diff]
    if view.diff_omitted:
        lines.append(f"  ({view.diff_omitted} more lines not shown)")
    lines += [
        f"Backtest: {text}" if i == 0 else f"          {text}"
        for i, text in enumerate(view.backtest)
    ]
    if view.buttons:
        lines.append(f"Approve: /policy approve {view.ref} [note]")
        lines.append(f"Reject:  /policy reject {view.ref} <reason>")
    lines.append(RULE)
    return "\n".join(lines)

"""The card as plain text for the local console, with numbered buttons."""

from __future__ import annotations

from collections.abc import Sequence

from cards.limits import CONSOLE_HISTORY_LINES, CONSOLE_TEXT, truncate
from cards.view import CardView

RULE = "─" * 60


def render_console(view: CardView, numbers: Sequence[int] = ()) -> str:
    """`numbers[i]` is the number the console assigned to `view.buttons[i]`."""
    lines = [
        RULE,
        f"{view.case_ref}  {truncate(view.title, CONSOLE_TEXT)}  [{view.status.upper()}]",
        f"{view.exception_title}",
    ]
    if view.decision:
        lines.append(f"Decision: {truncate(view.decision, CONSOLE_TEXT)}")
    lines += [f"  {fact.label}: {truncate(fact.value, CONSOLE_TEXT)}" for fact in view.facts]
    if view.references:
        lines.append("  References: " + ", ".join(f"{r.label} {r.value}" for r in view.references))
    if view.attachments:
        lines.append("  Attachments:")
        lines += [f"    {truncate(a.label, CONSOLE_TEXT)} <{a.url}>" for a in view.attachments]
    if view.playbook:
        lines.append(f"  Playbook: {view.playbook}")
    if view.owner:
        lines.append(f"  Owner: {view.owner}")
    if view.rules or view.policy_notes:
        lines.append("Policy:")
        for rule in view.rules:
            link = f" <{rule.url}>" if rule.url else ""
            lines.append(f"  • {rule.ref}{link}")
            lines.append(f"      because {truncate(rule.why, CONSOLE_TEXT)}")
        lines += [f"  • {truncate(note, CONSOLE_TEXT)}" for note in view.policy_notes]
    if view.flags:
        lines.append("Risk flags: " + ", ".join(view.flags))
    if view.route:
        lines.append("Route:")
        lines += [f"  {i}. {s.tier}: {s.summary}" for i, s in enumerate(view.route, start=1)]
    if view.due:
        lines.append(f"Due: {view.due}")
    if view.case_due:
        lines.append(f"Case due: {view.case_due}{'  OVERDUE' if view.overdue else ''}")
    if view.escalations:
        lines.append("Escalations:")
        lines += [f"  {h.at}  {truncate(h.text, CONSOLE_TEXT)}" for h in view.escalations]
    if view.history:
        lines.append("History:")
        shown = view.history[-CONSOLE_HISTORY_LINES:]
        if len(view.history) > len(shown):
            lines.append(f"  ({len(view.history) - len(shown)} earlier entries not shown)")
        lines += [f"  {h.at}  {truncate(h.text, CONSOLE_TEXT)}" for h in shown]
    if view.amended:
        lines.append(f"Amended: {truncate(view.amended, CONSOLE_TEXT)}")
    if view.notice:
        lines.append(f"Note: {view.notice}")
    if view.buttons and numbers:
        lines.append(
            "  ".join(f"[{n}] {b.label}" for n, b in zip(numbers, view.buttons, strict=False))
        )
    lines.append(RULE)
    return "\n".join(lines)

"""A remediation item's card and a digest as plain text for the local console (and for the
`/approvals remediation show` reply). The console has no buttons for them: the card says the
commands to type."""

from __future__ import annotations

from cards.console import RULE
from cards.limits import CONSOLE_TEXT, truncate
from cards.remediation_view import DigestView, RemediationView


def _list(values: tuple[str, ...], omitted: int = 0) -> str:
    return (", ".join(values) or "none") + (f" and {omitted} more" if omitted else "")


def render_remediation_console(view: RemediationView) -> str:
    key = f" ({view.key})" if view.key else ""
    lines = [
        RULE,
        f"{view.ref}  Remediate {view.code}{key}: {view.code_title}  [{view.status.upper()}]",
        f"Owner: {view.owner}   Opened: {view.opened}   Due: {view.due}"
        + ("  OVERDUE" if view.overdue else ""),
        f"Cases: {_list(view.cases, view.cases_omitted)}",
        f"Suppliers: {_list(view.suppliers)}",
        f"Cost centers: {_list(view.cost_centers)}",
        f"Leakage: {_list(view.leakage)}",
    ]
    if view.playbook:
        lines.append(f"Playbook: {view.playbook}")
    for label, text in (
        ("Acknowledged", view.acknowledged),
        ("Escalated", view.escalated),
        ("Closed", view.closed),
        ("Root cause and fix", view.root_cause),
    ):
        if text:
            lines.append(f"{label}: {truncate(text, CONSOLE_TEXT)}")
    if view.buttons:
        if view.status == "open":
            lines.append(f"Acknowledge: /approvals remediation ack {view.ref}")
        lines.append(f"Close:       /approvals remediation close {view.ref} <root cause and fix>")
    lines.append(RULE)
    return "\n".join(lines)


def render_digest_console(view: DigestView) -> str:
    lines = [view.headline]
    for entry in view.entries:
        due = f", due {entry.due}" if entry.due else ""
        late = " OVERDUE" if entry.overdue else ""
        lines.append(f"  {entry.ref}  {entry.title}  (waiting since {entry.since}{due}){late}")
        show = (
            "/approvals remediation show" if entry.ref.startswith("REM-") else "/exception status"
        )
        lines.append(f"      open: {show} {entry.ref}")
    return "\n".join(lines)

"""`/approvals remediation [list | show REM-1 | ack REM-1 | close REM-1 <root cause and fix>]`:
parsed here, run by `handlers.remediation`, answered in text (a card as the console shows it).
The buttons on an item's card run the same commands."""

from __future__ import annotations

from cards.console_remediation import render_remediation_console
from cards.remediation_view import build_remediation_view
from handlers.context import Actor, Services
from handlers.remediation import (
    AcknowledgeRemediation,
    CloseRemediation,
    ListRemediation,
    RemediationCommand,
    ShowRemediation,
    acknowledge_item,
    close_item,
    item_for,
    items_for,
)
from policy.names import at_text
from policy.remediation import parse_item_ref

USAGE = (
    "/approvals remediation [list | show REM-000001 | ack REM-000001 | "
    "close REM-000001 <root cause and fix>]"
)


def parse_remediation(words: list[str]) -> RemediationCommand:
    """The words after `remediation`; raises ValueError with the usage."""
    if not words or words[0].lower() == "list":
        if len(words) > 1:
            raise ValueError(f"Usage: {USAGE}")
        return ListRemediation()
    verb = words[0].lower()
    if verb not in ("show", "ack", "acknowledge", "close"):
        raise ValueError(f"Usage: {USAGE}")
    item_id = parse_item_ref(words[1]) if len(words) > 1 else None
    if item_id is None:
        raise ValueError(f"Which item? Usage: {USAGE}")
    if verb == "show":
        return ShowRemediation(item_id)
    if verb in ("ack", "acknowledge"):
        return AcknowledgeRemediation(item_id)
    return CloseRemediation(item_id, " ".join(words[2:]).strip() or None)


async def remediation_reply(svc: Services, actor: Actor, command: RemediationCommand) -> str:
    """The reply to a remediation command; raises the handlers' DomainErrors."""
    match command:
        case ListRemediation():
            found = await items_for(svc, actor.id)
            if not found:
                return "No remediation item is open for you."
            now = svc.clock.now()
            lines = [
                f"{item.what}  {item.status.value}, due {at_text(item.due_at)}"
                + (" OVERDUE" if now >= item.due_at else "")
                for item in found
            ]
            return "Open remediation items:\n" + "\n".join(lines)
        case ShowRemediation(item_id=item_id):
            item = await item_for(svc, actor.id, item_id)
            view = build_remediation_view(svc.policy, item, svc.clock.now())
            return render_remediation_console(view)
        case AcknowledgeRemediation(item_id=item_id):
            return (await acknowledge_item(svc, actor, item_id)).message
        case CloseRemediation(item_id=item_id, root_cause=root_cause):
            return (await close_item(svc, actor, item_id, root_cause)).message

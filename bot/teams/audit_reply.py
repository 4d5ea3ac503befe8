"""Teams' `audit verify|export ...` messages. A reply goes to the conversation the message came
from, which others may read: an export link is only ever sent in the person's own chat."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.audit_chat import audit_reply
from bot.audit_download import AuditDownloads
from bot.replies import error_text
from handlers.audit_chat import require_look
from handlers.audit_commands import AuditCommand, AuditExport
from handlers.context import Actor, Services

NOT_HERE = (
    "An export link is for you alone, so I only send it in our one-to-one chat: "
    "message me `audit export` there."
)


def is_personal(activity: Mapping[str, Any]) -> bool:
    conversation = activity.get("conversation")
    kind = conversation.get("conversationType") if isinstance(conversation, Mapping) else None
    return kind in (None, "personal")


async def teams_audit_reply(
    svc: Services,
    actor: Actor,
    command: AuditCommand,
    downloads: AuditDownloads | None,
    activity: Mapping[str, Any],
) -> str:
    if isinstance(command, AuditExport) and not is_personal(activity):
        try:
            await require_look(svc, actor, "audit export")  # refused as anywhere else
        except Exception as error:
            return error_text(error)
        return NOT_HERE
    return await audit_reply(svc, actor, command, downloads)

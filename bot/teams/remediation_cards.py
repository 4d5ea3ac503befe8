"""Presses on a remediation item's card and on a digest in Teams.

Acknowledge and Close carry the item id in the Action.Execute data, and Close the root cause
and fix typed in the card's input; they run the same commands as `approvals remediation ack`
and `close`. The invoke is answered with the item's card as it stands now, the reply in its
notice or the refusal above the input (which keeps what was typed). A digest's Open button
posts (or updates) that case's or item's card in the chat and is answered with a short
message, so the digest stays as it is. Data that names nothing of ours stores nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from bot.remediation_chat import remediation_reply
from bot.replies import error_text
from bot.teams.inbound import MAX_ID
from bot.teams.messenger import ADAPTIVE_CARD
from cards import actions
from cards.remediation_view import build_remediation_view
from cards.teams import text_card
from cards.teams_remediation import TEXT_INPUT, remediation_card
from handlers.context import Actor, Services
from handlers.digest import open_card
from handlers.errors import DomainError
from handlers.remediation import AcknowledgeRemediation, CloseRemediation, RemediationCommand
from policy.model import Person
from storage import remediation as items

log = logging.getLogger(__name__)

PLATFORM = "teams"
MESSAGE = "application/vnd.microsoft.activity.message"  # a note; the pressed card stays
NOT_OURS = "That card action does not name a remediation item or a case; nothing was done."


def _item_id(value: Any) -> int | None:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= MAX_ID else None


async def remediation_press(
    svc: Services,
    person: Person,
    verb: str,
    data: Mapping[str, Any],
    teams_user: str,
    wake_delivery: Callable[[], None],
) -> tuple[str, Any]:
    """The invoke's answer (its type and value) to a press on an item's card or a digest."""
    if verb == actions.DIGEST_OPEN:
        return MESSAGE, await _digest_press(svc, person, data, teams_user, wake_delivery)
    return ADAPTIVE_CARD, await _item_press(svc, person, verb, data, teams_user, wake_delivery)


async def _item_press(
    svc: Services,
    person: Person,
    verb: str,
    data: Mapping[str, Any],
    teams_user: str,
    wake_delivery: Callable[[], None],
) -> dict[str, Any]:
    """The card answering a press of Acknowledge or Close on an item's card."""
    item_id = _item_id(data.get("remediation"))
    typed = data.get(TEXT_INPUT, "")
    if item_id is None or verb not in actions.REMEDIATION_ACTIONS or not isinstance(typed, str):
        log.warning("dropped a Teams remediation action %r with no item of ours", verb[:40])
        return text_card(NOT_OURS)
    command: RemediationCommand = (
        AcknowledgeRemediation(item_id)
        if verb == actions.REMEDIATION_ACK
        else CloseRemediation(item_id, typed.strip() or None)
    )
    actor = Actor(person.id, PLATFORM, teams_user)
    try:
        reply = await remediation_reply(svc, actor, command)
    except DomainError as error:
        return await _card(svc, item_id, error=error.message, typed=typed)
    except Exception as error:
        return await _card(svc, item_id, error=error_text(error), typed=typed)
    wake_delivery()
    return await _card(svc, item_id, notice=reply)


async def _card(
    svc: Services,
    item_id: int,
    *,
    notice: str | None = None,
    error: str | None = None,
    typed: str = "",
) -> dict[str, Any]:
    async with svc.db.reading() as conn:
        item = await items.get_item(conn, item_id)
    if item is None:
        return text_card(error or notice or NOT_OURS)
    view = build_remediation_view(svc.policy, item, svc.clock.now())
    if notice is not None:
        return remediation_card(replace(view, notice=notice))
    return remediation_card(view, error=error, typed=typed)


async def _digest_press(
    svc: Services,
    person: Person,
    data: Mapping[str, Any],
    teams_user: str,
    wake_delivery: Callable[[], None],
) -> str:
    """The message answering a digest's Open button."""
    value = data.get("open")
    target = actions.parse_open_button_value(value) if isinstance(value, str) else None
    if target is None:
        return NOT_OURS
    try:
        await open_card(svc, Actor(person.id, PLATFORM, teams_user), *target)
    except Exception as error:
        return error_text(error)
    wake_delivery()
    return "The card is on its way to this chat."

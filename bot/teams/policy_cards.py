"""Presses on a policy proposal's card in Teams: the Action.Execute data carries the version id,
and the text input a note (to approve) or the reason (to reject).

The press becomes `PolicyDecide`; the handler decides everything (roles, four eyes, the
version's state). The invoke is answered with the card as it stands now, the handler's reply in
its notice, or its refusal above the input (which keeps what was typed). A press whose data
does not name a version of ours gets a text card saying so, and nothing is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from bot.proposal_views import load_proposal_view
from bot.replies import error_text
from bot.teams.inbound import MAX_ID
from cards import actions
from cards.teams import text_card
from cards.teams_proposal import TEXT_INPUT, proposal_card
from handlers.commands import PolicyDecide
from handlers.context import Actor, Services
from handlers.errors import DomainError
from handlers.policy_admin import run_policy_command
from policy.model import Person

log = logging.getLogger(__name__)

PLATFORM = "teams"
NOT_OURS = "That card action does not name a policy proposal; nothing was done."


def _version_id(value: Any) -> int | None:
    """A version id sent as a number or as ASCII digits, if it is one in range."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= MAX_ID else None


async def policy_press(
    svc: Services,
    person: Person,
    verb: str,
    data: Mapping[str, Any],
    teams_user: str,
    wake_delivery: Callable[[], None],
) -> dict[str, Any]:
    """The card answering a press of Approve or Reject on a proposal's card."""
    approve = actions.policy_approves(verb)
    version_id = _version_id(data.get("policy"))
    typed = data.get(TEXT_INPUT, "")
    if approve is None or version_id is None or not isinstance(typed, str):
        log.warning("dropped a Teams policy card action %r with no version of ours", verb[:40])
        return text_card(NOT_OURS)
    command = PolicyDecide(version_id, approve, typed.strip() or None)
    try:
        reply = await run_policy_command(svc, Actor(person.id, PLATFORM, teams_user), command)
    except DomainError as error:
        return await _card(svc, version_id, error=error.message, typed=typed)
    except Exception as error:
        return await _card(svc, version_id, error=error_text(error), typed=typed)
    wake_delivery()
    return await _card(svc, version_id, notice=reply.text)


async def _card(
    svc: Services,
    version_id: int,
    *,
    notice: str | None = None,
    error: str | None = None,
    typed: str = "",
) -> dict[str, Any]:
    view = await load_proposal_view(svc, version_id)
    if view is None:  # no such version, or one never proposed: nothing to show but the answer
        return text_card(error or notice or NOT_OURS)
    if notice is not None:
        return proposal_card(replace(view, notice=notice))
    return proposal_card(view, error=error, typed=typed)

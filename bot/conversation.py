"""What a typed command does, the same on every platform: run it for an actor, get a reply.

The reply carries text and card views; each adapter renders them its own way.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.card_views import build_card_view
from bot.chat_commands import (
    HELP,
    ChatCommand,
    CommentOnCase,
    DecideCase,
    ListMyApprovals,
    ListMyRequests,
    MarkAway,
    MarkBack,
    NewException,
    ReassignStep,
    RevokeCase,
    ShowHelp,
    ShowStatus,
    UsageError,
    WithdrawCase,
    resolve_mention,
    unknown_person,
)
from bot.replies import error_text
from bot.validation import parse_request
from cards.view import CardView
from handlers.absence import come_back, go_away, reassign
from handlers.commands import (
    ComeBack,
    Comment,
    Decide,
    FileException,
    GoAway,
    Reassign,
    Revoke,
    Withdraw,
)
from handlers.context import Actor, Services
from handlers.deciding import decide
from handlers.errors import NotFound
from handlers.filing import file_exception
from handlers.lifecycle import comment, revoke, withdraw
from handlers.queries import case_details, may_view, pending_approvals, requests_of
from storage.records import case_ref


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    cards: tuple[CardView, ...] = ()
    ok: bool = True


async def run_command(svc: Services, actor: Actor, command: ChatCommand) -> Reply:
    """Run `command`; every failure becomes a reply, never an exception."""
    try:
        return await _run(svc, actor, command)
    except Exception as error:
        return Reply(error_text(error), ok=False)


async def _card(svc: Services, actor: Actor, case_id: int) -> CardView:
    details = await case_details(svc, case_id)
    if not may_view(svc.policy, actor.id, details):
        raise NotFound(f"There is no exception {case_ref(case_id)} that you can see.")
    return build_card_view(svc.policy, details, actor.id)


def _person(svc: Services, mention: str) -> str:
    """A person id for a mention the platform left unresolved (or a person id already)."""
    person = resolve_mention(svc.policy, mention)
    if person is None:
        raise UsageError(unknown_person(mention))
    return person


async def _run(svc: Services, actor: Actor, command: ChatCommand) -> Reply:
    match command:
        case ShowHelp():
            return Reply(HELP)
        case NewException(fields=fields):
            request = parse_request({**fields, "requester": actor.id})
            result = await file_exception(svc, actor, FileException(request))
            card = await _card(svc, actor, result.case.id)
            return Reply(f"Filed {card.headline}.", (card,))
        case ShowStatus(case_id=case_id):
            card = await _card(svc, actor, case_id)
            return Reply(card.headline, (card,))
        case ListMyRequests():
            mine = await requests_of(svc, actor.id)
            if not mine:
                return Reply("You have no open requests.")
            lines = [f"{c.ref}  {c.title}  ({c.status.value})" for c in mine]
            return Reply("Your open requests:\n" + "\n".join(lines))
        case ListMyApprovals():
            queue = await pending_approvals(svc, actor.id)
            if not queue:
                return Reply("Nothing is waiting for your approval.")
            cards = tuple(build_card_view(svc.policy, d, actor.id) for d in queue)
            return Reply(f"{len(cards)} waiting for your approval:", cards)
        case DecideCase(case_id=case_id, action=action, rationale=rationale):
            decided = await decide(svc, actor, Decide(case_id, action, rationale))
            return Reply(decided.message)
        case WithdrawCase(case_id=case_id, reason=reason):
            changed = await withdraw(svc, actor, Withdraw(case_id, reason))
            return Reply(changed.message)
        case CommentOnCase(case_id=case_id, text=text):
            changed = await comment(svc, actor, Comment(case_id, text))
            return Reply(changed.message)
        case RevokeCase(case_id=case_id, reason=reason):
            changed = await revoke(svc, actor, Revoke(case_id, reason))
            return Reply(changed.message)
        case MarkAway(until=until, delegate=delegate):
            stand_in = None if delegate is None else _person(svc, delegate)
            away = await go_away(svc, actor, GoAway(until, stand_in))
            return Reply(away.message)
        case MarkBack():
            return Reply((await come_back(svc, actor, ComeBack())).message)
        case ReassignStep(case_id=case_id, to=to, reason=reason):
            handed = await reassign(svc, actor, Reassign(case_id, _person(svc, to), reason))
            return Reply(handed.message)

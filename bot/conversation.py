"""What a typed command does, the same on every platform: run it for an actor, get a reply.

The reply carries text and card views; each adapter renders them its own way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.card_views import build_card_view
from bot.chat_commands import (
    HELP,
    ChatCommand,
    ListMyApprovals,
    ListMyRequests,
    NewException,
    ShowDashboard,
    ShowHelp,
    ShowStats,
    ShowStatus,
)
from bot.dashboard_access import DashboardAccess
from bot.dashboard_chat import dashboard_reply, stats_link_line
from bot.remediation_chat import remediation_reply
from bot.replies import error_text
from bot.validation import parse_request
from cards.view import CardView
from handlers.absence import come_back, go_away, reassign
from handlers.commands import (
    POLICY_COMMANDS,
    Answer,
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
from handlers.deciding import answer_question, decide
from handlers.errors import NotFound
from handlers.filing import file_exception
from handlers.lifecycle import comment, revoke, withdraw
from handlers.policy_admin import run_policy_command
from handlers.queries import case_details, may_view, pending_approvals, requests_of
from handlers.remediation import REMEDIATION_COMMANDS
from handlers.reports import program_report
from policy.kpi_text import summary_text
from policy.names import at_text
from storage.records import CaseRecord, case_ref


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    cards: tuple[CardView, ...] = ()
    ok: bool = True


async def run_command(
    svc: Services, actor: Actor, command: ChatCommand, dashboard: DashboardAccess | None = None
) -> Reply:
    """Run `command`; every failure becomes a reply, never an exception. `dashboard` makes
    dashboard links: pass it only where the reply is seen by `actor` alone."""
    try:
        return await _run(svc, actor, command, dashboard)
    except Exception as error:
        return Reply(error_text(error), ok=False)


def already_filed(case: CaseRecord) -> str:
    return (
        f"You already filed this as {case.ref} at {at_text(case.created_at)}; "
        "it was not filed again. Here it is."
    )


async def _card(svc: Services, actor: Actor, case_id: int) -> CardView:
    details = await case_details(svc, case_id)
    if not may_view(svc.policy, actor.id, details):
        raise NotFound(f"There is no exception {case_ref(case_id)} that you can see.")
    return build_card_view(svc.policy, details, actor.id, svc.clock.now())


async def _run(
    svc: Services, actor: Actor, command: ChatCommand, dashboard: DashboardAccess | None
) -> Reply:
    match command:
        case ShowHelp():
            return Reply(HELP)
        case NewException(fields=fields):
            request = parse_request({**fields, "requester": actor.id})
            result = await file_exception(svc, actor, FileException(request))
            card = await _card(svc, actor, result.case.id)
            if not result.created:  # a replayed or repeated command: nothing new was filed
                return Reply(already_filed(result.case), (card,))
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
            now = svc.clock.now()
            cards = tuple(build_card_view(svc.policy, d, actor.id, now) for d in queue)
            overdue = sum(1 for card in cards if card.overdue)
            late = f" ({overdue} overdue)" if overdue else ""
            return Reply(f"{len(cards)} waiting for your approval{late}:", cards)
        case ShowStats(days=days):
            since = svc.clock.now() - timedelta(days=days)
            summary = summary_text(await program_report(svc, since, viewer=actor.id))
            link = stats_link_line(dashboard, actor.id, svc.clock.now())
            return Reply(f"{summary}\n{link}" if link else summary)
        case ShowDashboard():
            return Reply(dashboard_reply(dashboard, actor.id, svc.clock.now()))
        case Decide():
            return Reply((await decide(svc, actor, command)).message)
        case Answer():
            return Reply((await answer_question(svc, actor, command)).message)
        case Withdraw():
            return Reply((await withdraw(svc, actor, command)).message)
        case Comment():
            return Reply((await comment(svc, actor, command)).message)
        case Revoke():
            return Reply((await revoke(svc, actor, command)).message)
        case GoAway():
            return Reply((await go_away(svc, actor, command)).message)
        case ComeBack():
            return Reply((await come_back(svc, actor, command)).message)
        case Reassign():
            return Reply((await reassign(svc, actor, command)).message)
        case _ if isinstance(command, REMEDIATION_COMMANDS):
            return Reply(await remediation_reply(svc, actor, command))
        case _ if isinstance(command, POLICY_COMMANDS):
            return Reply((await run_policy_command(svc, actor, command)).text)

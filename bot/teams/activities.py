"""What Teams activities do: messages are commands, card actions are decisions.

An `adaptiveCard/action` invoke is answered with the updated card (HTTP 200), errors shown on
the card itself; the other copies of the card are updated through the outbox. A message is
acknowledged at once and answered in a kept background task, like every chat platform here.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import cards.teams as teams_cards
from bot.audit_chat import parse_audit_command
from bot.audit_download import AuditDownloads
from bot.card_views import build_card_view
from bot.chat_commands import (
    HELP,
    ChatCommand,
    PersonResolver,
    ShowDashboard,
    UsageError,
    parse_approvals_command,
    parse_exception_command,
    policy_resolver,
)
from bot.conversation import already_filed, run_command
from bot.dashboard_access import DashboardAccess
from bot.dashboard_chat import NOT_HERE as DASHBOARD_NOT_HERE
from bot.messaging import DeliveryError
from bot.policy_chat import parse_policy_command
from bot.replies import error_text
from bot.tasks import BackgroundTasks
from bot.teams.audit_reply import is_personal, teams_audit_reply
from bot.teams.connector import BotConnector
from bot.teams.inbound import INVOKE_CARD_ACTION, MAX_ID
from bot.teams.messenger import ADAPTIVE_CARD, card_activity
from bot.teams.policy_cards import policy_press
from bot.teams.remediation_cards import remediation_press
from bot.validation import parse_request
from cards import actions
from cards.view import CardView
from handlers.audit_commands import AUDIT_COMMANDS, AuditCommand
from handlers.commands import Answer, Decide, FileException
from handlers.context import Actor, Services
from handlers.deciding import answer_question, decide
from handlers.errors import DomainError, InvalidRequest
from handlers.filing import file_exception
from handlers.queries import case_details, may_view
from policy.evaluate import request_problems
from policy.model import Person
from storage import conversations
from storage.conversations import ConversationRef
from storage.records import parse_case_ref

log = logging.getLogger(__name__)

PLATFORM = "teams"
EMAIL_CACHE_SECONDS = 3600.0
UNKNOWN_USER = (
    "Sorry, I don't know who you are: your Teams account is not in the approvals policy. "
    "Ask an approvals admin to add you."
)
TEAMS_HELP = (
    "Message me: `file` (a filing card), `status EXC-000123`, `list`, `approvals`, "
    "`withdraw EXC-000123 [reason]`, `help`.\n\nThe same commands as in Slack and the "
    f"console also work:\n\n{HELP}"
)
_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
_APPROVALS_WORDS = {"approvals", "approve", "reject", "info", "revoke", "away", "back", "reassign"}


@dataclass(frozen=True, slots=True)
class InvokeResponse:
    status: int
    body: dict[str, Any]


def card_response(card: dict[str, Any]) -> InvokeResponse:
    return InvokeResponse(200, {"statusCode": 200, "type": ADAPTIVE_CARD, "value": card})


def parse_text(text: str, resolve: PersonResolver) -> ChatCommand | AuditCommand | None:
    """A Teams message as a command; None for `file` (answered with the filing card).
    Mentions were already replaced by person ids (`TeamsActivities._name_mentions`)."""
    words = text.split()
    if not words:
        return parse_exception_command("help")
    first = words[0].lower()
    if first in ("file", "new") and len(words) == 1:
        return None
    if first == "audit":
        return parse_audit_command(text.split(maxsplit=1)[1] if len(words) > 1 else "")
    if first == "policy":
        return parse_policy_command(text.split(maxsplit=1)[1] if len(words) > 1 else "", resolve)
    if first in _APPROVALS_WORDS:
        rest = text.split(maxsplit=1)[1] if first == "approvals" and len(words) > 1 else ""
        return parse_approvals_command(rest if first == "approvals" else text, resolve)
    return parse_exception_command(text)


class TeamsActivities:
    def __init__(
        self,
        services: Services,
        connector: BotConnector,
        tasks: BackgroundTasks,
        wake_delivery: Callable[[], None],
        *,
        tenant_id: str | None = None,
        email_identity: bool = False,
        downloads: AuditDownloads | None = None,
    ) -> None:
        self.svc = services
        self.connector = connector
        self.tasks = tasks
        self.wake_delivery = wake_delivery
        self.tenant_id = tenant_id  # the bot's own tenant: nobody from another is mapped
        self.email_identity = email_identity  # TEAMS_EMAIL_IDENTITY
        self.downloads = downloads  # audit export links
        self._emails: dict[str, tuple[float, str]] = {}  # Teams user id -> (when, email)

    # --- who is this -----------------------------------------------------------------

    async def person_of(self, activity: Mapping[str, Any]) -> Person | None:
        """The policy person behind an activity: by `teams:` or `aad:`; else, only with
        TEAMS_EMAIL_IDENTITY on, by the user principal name the roster reports for a member
        of the bot's own tenant who is not a guest (cached). None when nobody matches."""
        sender = activity.get("from") or {}
        policy = self.svc.policy
        for key in (sender.get("id"), sender.get("aadObjectId")):
            if key and (person := policy.by_teams_id(str(key))) is not None:
                return person
        if not self.email_identity or _tenant_of(activity) != self.tenant_id:
            return None
        email = await self._email_of(activity)
        return policy.find_person(email) if email else None

    async def _email_of(self, activity: Mapping[str, Any]) -> str:
        user_id = str((activity.get("from") or {}).get("id") or "")
        conversation = str((activity.get("conversation") or {}).get("id") or "")
        if not user_id or not conversation:
            return ""
        cached = self._emails.get(user_id)
        if cached is not None and time.monotonic() - cached[0] < EMAIL_CACHE_SECONDS:
            return cached[1]
        try:
            member = await self.connector.member(
                str(activity.get("serviceUrl")), conversation, user_id
            )
            email = _vouched_name(member, self.tenant_id)
        except DeliveryError as error:
            log.info("no email from Teams for %s: %s", user_id, error)
            email = ""
        self._emails[user_id] = (time.monotonic(), email)
        return email

    async def _remember(self, activity: Mapping[str, Any], person: Person | None) -> None:
        """Keep the 1:1 conversation reference, so the bot can message this person later."""
        conversation = activity.get("conversation") or {}
        sender = activity.get("from") or {}
        if conversation.get("conversationType", "personal") != "personal" or not sender.get("id"):
            return
        channel_data = activity.get("channelData") or {}
        tenant = (channel_data.get("tenant") or {}).get("id") or conversation.get("tenantId")
        ref = ConversationRef(
            user_id=str(sender["id"]),
            person=person.id if person else None,
            service_url=str(activity["serviceUrl"]),
            conversation_id=str(conversation["id"]),
            tenant_id=str(tenant) if tenant else None,
        )
        now = self.svc.clock.now()
        await self.svc.db.write(lambda conn: conversations.remember(conn, ref, now))

    # --- dispatch --------------------------------------------------------------------

    async def handle(self, activity: Mapping[str, Any]) -> InvokeResponse | None:
        """The reply for an invoke; None for activities answered with a plain 200."""
        person = await self.person_of(activity)
        kind = activity.get("type")
        if kind in ("message", "conversationUpdate", "installationUpdate", "invoke"):
            await self._remember(activity, person)
        if kind == "invoke":
            if activity.get("name") != INVOKE_CARD_ACTION:
                return InvokeResponse(200, {"statusCode": 200})
            return await self._card_action(activity, person)
        if kind == "message":
            self.tasks.spawn(self._message(activity, person), "teams-message")
        return None

    # --- messages --------------------------------------------------------------------

    async def _reply(self, activity: Mapping[str, Any], reply: dict[str, Any]) -> None:
        conversation = str((activity.get("conversation") or {}).get("id"))
        await self.connector.send(str(activity["serviceUrl"]), conversation, reply)

    async def _message(self, activity: Mapping[str, Any], person: Person | None) -> None:
        if person is None:
            await self._reply(activity, {"type": "message", "text": UNKNOWN_USER})
            return
        text = _MENTION.sub("", self._name_mentions(activity)).strip()
        try:
            command = parse_text(text, policy_resolver(self.svc.policy))
        except UsageError as error:
            await self._reply(activity, {"type": "message", "text": str(error)})
            return
        if command is None:
            filing = teams_cards.filing_card(taxonomy=self._taxonomy())
            await self._reply(activity, _attachment(filing))
            return
        actor = Actor(person.id, PLATFORM, str(activity["from"]["id"]))
        if isinstance(command, AUDIT_COMMANDS):
            said = await teams_audit_reply(self.svc, actor, command, self.downloads, activity)
            await self._reply(activity, {"type": "message", "text": said})
            return
        # A dashboard link is for the person alone: only ever in their own chat.
        personal = is_personal(activity)
        if isinstance(command, ShowDashboard) and not personal:
            await self._reply(activity, {"type": "message", "text": DASHBOARD_NOT_HERE})
            return
        links = self.downloads if personal else None
        dashboard = DashboardAccess.of(links) if links is not None else None
        reply = await run_command(self.svc, actor, command, dashboard)
        self.wake_delivery()
        answer = TEAMS_HELP if reply.text == HELP else reply.text
        await self._reply(activity, {"type": "message", "text": answer})
        for card in reply.cards:
            await self._reply(activity, card_activity(card, str(activity["from"]["id"])))

    def _name_mentions(self, activity: Mapping[str, Any]) -> str:
        """The message text with each mention of a person replaced by their policy id (so
        `reassign EXC-1 <at>Carol</at> reason` names carol); mentions of the bot are dropped
        afterwards with the rest of the markup."""
        text = str(activity.get("text") or "")
        bot_id = str((activity.get("recipient") or {}).get("id") or "")
        for entity in activity.get("entities") or []:
            if not isinstance(entity, dict) or entity.get("type") != "mention":
                continue
            mentioned = entity.get("mentioned") or {}
            markup = str(entity.get("text") or "")
            if not markup or str(mentioned.get("id")) == bot_id:
                continue
            person = self.svc.policy.by_teams_id(str(mentioned.get("id") or ""))
            name = person.id if person else str(mentioned.get("name") or "someone")
            text = text.replace(markup, f" {name} ")
        return text

    def _taxonomy(self) -> list[tuple[str, str]]:
        return [(t.code, t.title) for t in self.svc.policy.taxonomy.values()]

    # --- card actions ----------------------------------------------------------------

    async def _card_action(
        self, activity: Mapping[str, Any], person: Person | None
    ) -> InvokeResponse:
        if person is None:
            return card_response(teams_cards.text_card(UNKNOWN_USER))
        action = (activity.get("value") or {}).get("action") or {}
        data: dict[str, Any] = action["data"] if isinstance(action.get("data"), dict) else {}
        verb = str(action.get("verb") or data.get("action") or "")
        if verb == teams_cards.FILE_VERB:
            return await self._file(person, data)
        if verb in actions.POLICY_DECISIONS:
            teams_user = str((activity.get("from") or {}).get("id"))
            card = await policy_press(self.svc, person, verb, data, teams_user, self.wake_delivery)
            return card_response(card)
        if verb in (*actions.REMEDIATION_ACTIONS, actions.DIGEST_OPEN):
            teams_user, wake = str((activity.get("from") or {}).get("id")), self.wake_delivery
            kind, value = await remediation_press(self.svc, person, verb, data, teams_user, wake)
            return InvokeResponse(200, {"statusCode": 200, "type": kind, "value": value})
        case_id = _int(data.get("case")) or parse_case_ref(str(data.get("case_ref") or ""))
        if case_id is None:
            log.warning("dropped a Teams card action without a case: %r", verb)
            return card_response(teams_cards.text_card("That card action is not known."))
        if verb == teams_cards.REFRESH_VERB:
            return await self._current_card(person, case_id, activity)
        decided = actions.decision_of(verb)
        if decided is None and verb != actions.ANSWER:
            log.warning("dropped an unknown Teams card action %r", verb)
            return card_response(teams_cards.text_card("That card action is not known."))
        typed = str(data.get(teams_cards.RATIONALE_INPUT) or "")
        teams_user = str((activity.get("from") or {}).get("id"))
        try:
            if decided is None:
                await self._answer(person, Answer(case_id, typed), teams_user)
            else:
                command = Decide(case_id, decided, typed.strip() or None, _int(data.get("step")))
                await self._decide(person, command, teams_user)
        except DomainError as error:
            return await self._current_card(
                person, case_id, activity, error=error.message, typed=typed
            )
        except Exception as error:
            return await self._current_card(
                person, case_id, activity, error=error_text(error), typed=typed
            )
        return await self._current_card(person, case_id, activity)

    async def _decide(self, person: Person, command: Decide, teams_user: str) -> None:
        await decide(self.svc, Actor(person.id, PLATFORM, teams_user), command)
        self.wake_delivery()

    async def _answer(self, person: Person, command: Answer, teams_user: str) -> None:
        await answer_question(self.svc, Actor(person.id, PLATFORM, teams_user), command)
        self.wake_delivery()

    async def _current_card(
        self,
        person: Person,
        case_id: int,
        activity: Mapping[str, Any],
        *,
        error: str | None = None,
        typed: str = "",
    ) -> InvokeResponse:
        """The card as `person` should see it now; an error shows by the rationale box."""
        try:
            details = await case_details(self.svc, case_id)
        except DomainError as missing:
            return card_response(teams_cards.text_card(missing.message))
        if not may_view(self.svc.policy, person.id, details):
            return card_response(
                teams_cards.text_card(error or "That case is not one you can see.")
            )
        view = build_card_view(self.svc.policy, details, person.id, self.svc.clock.now())
        refresh = [str(activity["from"]["id"])] if view.buttons else []
        if error is not None:
            card = teams_cards.error_card(view, error, rationale=typed, refresh_user_ids=refresh)
        else:
            card = teams_cards.approval_card(view, refresh_user_ids=refresh)
        return card_response(card)

    async def _file(self, person: Person, data: Mapping[str, Any]) -> InvokeResponse:
        taxonomy = self._taxonomy()
        typed = {k: str(v) for k, v in data.items() if isinstance(v, str | int | float)}
        try:
            fields = teams_cards.filing_values(data)
            request = parse_request({**fields, "requester": person.id})
            problems = request_problems(request, self.svc.policy)
            if problems:
                raise InvalidRequest(problems)
        except InvalidRequest as invalid:
            errors = dict(invalid.problems)
            card = teams_cards.filing_card(taxonomy=taxonomy, values=typed, errors=errors)
            return card_response(card)
        except ValueError as error:
            card = teams_cards.filing_card(
                taxonomy=taxonomy, values=typed, errors={"details": str(error)}
            )
            return card_response(card)
        actor = Actor(person.id, PLATFORM)
        try:
            result = await file_exception(self.svc, actor, FileException(request))
        except DomainError as error:
            return card_response(teams_cards.text_card(error.message))
        self.wake_delivery()
        details = await case_details(self.svc, result.case.id)
        filed = f"Filed {result.case.ref}." if result.created else already_filed(result.case)
        view = _with_notice(
            build_card_view(self.svc.policy, details, person.id, self.svc.clock.now()), filed
        )
        return card_response(teams_cards.approval_card(view))


def _tenant_of(activity: Mapping[str, Any]) -> str | None:
    channel_data = activity.get("channelData")
    tenant = channel_data.get("tenant") if isinstance(channel_data, Mapping) else None
    found = tenant.get("id") if isinstance(tenant, Mapping) else None
    if found is None:
        conversation = activity.get("conversation")
        found = conversation.get("tenantId") if isinstance(conversation, Mapping) else None
    return str(found) if found else None


def _vouched_name(member: Mapping[str, Any], tenant_id: str | None) -> str:
    """The member's user principal name, if it can stand for them: not a guest (their name
    carries #EXT#, or the roster says so) and of the bot's own tenant; else ""."""
    upn = str(member.get("userPrincipalName") or "")
    role = str(member.get("userRole") or "user").lower()
    member_tenant = member.get("tenantId")
    if role in ("guest", "anonymous") or "#EXT#" in upn.upper():
        return ""
    if member_tenant and str(member_tenant) != tenant_id:
        return ""
    return upn


def _attachment(card: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "attachments": [{"contentType": ADAPTIVE_CARD, "content": card}]}


def _int(value: Any) -> int | None:
    """A case or step id, sent as a number or as ASCII digits, if it is one in range."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value) if len(value.strip()) <= len(str(MAX_ID)) else None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= MAX_ID else None


def _with_notice(view: CardView, notice: str) -> CardView:
    return replace(view, notice=notice)

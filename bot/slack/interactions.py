"""What Slack interactions do: button presses, modals, slash commands, App Home.

Each turns a Slack payload into an Actor and a command, runs the handler, and tells the person
what happened. Cards are never edited here: every change of state goes through the outbox,
whose deliverer re-renders each card of the case in place.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

import cards.slack as blocks
from bot.card_views import build_card_view
from bot.chat_commands import (
    ChatCommand,
    PersonResolver,
    UsageError,
    parse_approvals_command,
    parse_exception_command,
    policy_resolver,
)
from bot.conversation import already_filed, run_command
from bot.dashboard_access import DashboardAccess
from bot.policy_chat import parse_policy_command
from bot.replies import error_text
from bot.slack.directory import SlackDirectory
from bot.slack.reading import (
    as_object,
    as_text,
    from_home,
    rationale_metadata,
    state_values,
    user_id,
)
from bot.tasks import BackgroundTasks
from bot.validation import parse_request
from cards import actions
from handlers.commands import Answer, Decide, FileException
from handlers.context import Actor, Services
from handlers.deciding import answer_question, decide
from handlers.errors import Conflict, DomainError, InvalidRequest
from handlers.filing import file_exception
from handlers.queries import case_details, pending_approvals, requests_of
from handlers.refresh import refresh_cards
from policy.evaluate import request_problems
from policy.model import Person
from policy.request import ExceptionRequest

log = logging.getLogger(__name__)

PLATFORM = "slack"
UNKNOWN_USER = (
    "Sorry, I don't know who you are: your Slack account is not in the approvals policy. "
    "Ask an approvals admin to add you."
)


@dataclass(frozen=True, slots=True)
class SlackDeps:
    services: Services
    client: AsyncWebClient
    directory: SlackDirectory
    tasks: BackgroundTasks
    wake_delivery: Callable[[], None]
    dashboard: DashboardAccess | None = None  # links in replies, all of them ephemeral


@dataclass(frozen=True, slots=True)
class FilingCheck:
    errors: dict[str, str] = field(default_factory=dict)
    person: Person | None = None
    request: ExceptionRequest | None = None


@dataclass(frozen=True, slots=True)
class Where:
    """Where to answer a person: ephemerally in a channel, or else by direct message."""

    user: str
    channel: str | None = None
    home: bool = False  # pressed on the App Home: re-publish it after the decision


def _field_block(field_name: str) -> str:
    """The filing modal's block for a request field (its parent's, else the title's)."""
    for candidate in (field_name, field_name.split(".")[0]):
        if candidate in blocks.FILING_BLOCKS:
            return str(blocks.FILING_BLOCKS[candidate])
    return str(blocks.FILING_BLOCKS["title"])


class SlackInteractions:
    def __init__(self, deps: SlackDeps) -> None:
        self.deps = deps

    @property
    def svc(self) -> Services:
        return self.deps.services

    # --- telling people -------------------------------------------------------------

    async def tell(self, where: Where, text: str) -> None:
        client = self.deps.client
        try:
            if where.channel:
                await client.chat_postEphemeral(channel=where.channel, user=where.user, text=text)
                return
            opened = await client.conversations_open(users=where.user)
            await client.chat_postMessage(channel=opened["channel"]["id"], text=text)
        except SlackApiError as error:
            log.warning("could not tell %s: %s", where.user, error.response.get("error"))

    async def _person(self, user_id: str, where: Where) -> Person | None:
        person = await self.deps.directory.person_for(user_id) if user_id else None
        if person is None:
            await self.tell(where, UNKNOWN_USER)
        return person

    # --- buttons and the rationale modal ------------------------------------------------

    async def button_pressed(self, body: Mapping[str, Any]) -> None:
        """A press. The case model says at once whether this person may act (if not, they
        are told why, and no form opens) and whether they must give a reason (then a form
        opens); otherwise the decision is made straight away."""
        user = user_id(body)
        channel = as_text(as_object(body.get("channel")).get("id")) or None
        where = Where(user, channel, home=from_home(body))
        presses = body.get("actions")
        pressed = as_object(presses[0]) if isinstance(presses, list) and presses else {}
        action_id = as_text(pressed.get("action_id"))
        action = actions.decision_of(action_id)
        target = actions.parse_button_value(as_text(pressed.get("value")))
        if action is None and action_id != actions.ANSWER:
            log.warning("dropped an unknown Slack action %r", action_id[:100])
            return
        if target is None or not user:
            log.warning("dropped a Slack press of %s with no case of ours or no user", action_id)
            return
        person = await self._person(user, where)
        if person is None:
            return
        case_id, step_id = target
        try:
            details = await case_details(self.svc, case_id)
        except DomainError as error:
            await self.tell(where, error.message)
            return
        if action is None:  # Answer: only the requester, while a question is open
            permission = details.model.may_answer(person.id)
            if permission.allowed:
                await self._ask_rationale(body, person, case_id, step_id, action_id, where)
            else:
                await self.tell(where, permission.reason or "There is nothing to answer.")
            return
        permission = details.model.may_act(self.svc.policy, person.id, action, step_id)
        if permission.allowed and permission.rationale_required:
            await self._ask_rationale(body, person, case_id, step_id, action_id, where)
            return
        # Allowed without a reason, or refused: the handler decides, records a refusal in
        # the audit log, and the person is told the outcome either way.
        await self._decide(person, Decide(case_id, action, None, step_id), where)

    async def _ask_rationale(
        self,
        body: Mapping[str, Any],
        person: Person,
        case_id: int,
        step_id: int,
        action_id: str,
        where: Where,
    ) -> None:
        details = await case_details(self.svc, case_id)
        view = build_card_view(self.svc.policy, details, person.id, self.svc.clock.now())
        metadata = json.dumps(
            {
                "case": case_id,
                "step": step_id,
                "action": action_id,
                "channel": where.channel,
                "home": where.home,
            }
        )
        modal = blocks.rationale_modal(view=view, action_id=action_id, private_metadata=metadata)
        trigger = as_text(body.get("trigger_id"))
        try:
            await self.deps.client.views_open(trigger_id=trigger, view=modal)
        except SlackApiError as error:
            log.warning("views.open failed: %s", error.response.get("error"))
            await self.tell(where, "Slack did not open the form in time; please press again.")

    @staticmethod
    def rationale_problem(body: Mapping[str, Any]) -> str | None:
        if _rationale(body) is None:
            return "Please give a rationale: it is kept in the audit log with your decision."
        return None

    async def rationale_submitted(self, body: Mapping[str, Any]) -> None:
        user = user_id(body)
        meta = rationale_metadata(body)
        if meta is None or not user:
            log.warning("dropped a rationale form with unreadable metadata")
            return
        case_id, step_id, action_id, channel, home = meta
        where = Where(user, channel, home=home)
        action = actions.decision_of(action_id)
        if action is None and action_id != actions.ANSWER:
            log.warning("dropped a rationale form for an unknown action %r", action_id)
            return
        person = await self._person(user, where)
        if person is None:
            return
        if action is None:
            await self._answer(person, Answer(case_id, _rationale(body) or ""), where)
            return
        await self._decide(person, Decide(case_id, action, _rationale(body), step_id), where)

    async def _answer(self, person: Person, command: Answer, where: Where) -> None:
        try:
            result = await answer_question(
                self.svc, Actor(person.id, PLATFORM, where.user), command
            )
        except Exception as error:
            await self.tell(where, error_text(error))
            return
        self.deps.wake_delivery()
        await self.tell(where, result.message)

    async def _decide(self, person: Person, command: Decide, where: Where) -> None:
        try:
            result = await decide(self.svc, Actor(person.id, PLATFORM, where.user), command)
        except Conflict as conflict:
            # The press was made on an out-of-date card: say why, and refresh the cards.
            await refresh_cards(self.svc, command.case_id)
            self.deps.wake_delivery()
            await self.tell(where, conflict.message)
            return
        except Exception as error:
            await self.tell(where, error_text(error))
            return
        self.deps.wake_delivery()
        await self.tell(where, result.message)
        if where.home:
            await self.publish_home(where.user)

    # --- slash commands --------------------------------------------------------------

    async def exception_command(self, body: Mapping[str, Any], respond: AsyncRespond) -> None:
        if not as_text(body.get("text")).strip():
            await self._open_filing_form(body, respond)
            return
        await self._command(body, respond, lambda text, _resolve: parse_exception_command(text))

    async def approvals_command(self, body: Mapping[str, Any], respond: AsyncRespond) -> None:
        await self._command(body, respond, parse_approvals_command)

    async def policy_command(self, body: Mapping[str, Any], respond: AsyncRespond) -> None:
        await self._command(body, respond, parse_policy_command)

    async def _command(
        self,
        body: Mapping[str, Any],
        respond: AsyncRespond,
        parse: Callable[[str, PersonResolver], ChatCommand],
    ) -> None:
        user = as_text(body.get("user_id"))
        person = await self.deps.directory.person_for(user) if user else None
        if person is None:
            await respond(text=UNKNOWN_USER, response_type="ephemeral")
            return
        try:
            command = parse(as_text(body.get("text")), policy_resolver(self.svc.policy))
        except UsageError as error:
            await respond(text=str(error), response_type="ephemeral")
            return
        actor = Actor(person.id, PLATFORM, user)
        reply = await run_command(self.svc, actor, command, self.deps.dashboard)
        self.deps.wake_delivery()
        if len(reply.cards) > 1:
            listing = blocks.case_list_message(
                heading=reply.text, views=reply.cards, empty="", with_buttons=True
            )
            await respond(response_type="ephemeral", **listing)
            return
        await respond(text=reply.text, response_type="ephemeral")
        for card in reply.cards:
            await respond(response_type="ephemeral", **blocks.card_message(card))

    async def _open_filing_form(self, body: Mapping[str, Any], respond: AsyncRespond) -> None:
        user = as_text(body.get("user_id"))
        if not user or await self.deps.directory.person_for(user) is None:
            await respond(text=UNKNOWN_USER, response_type="ephemeral")
            return
        taxonomy = [(t.code, t.title) for t in self.svc.policy.taxonomy.values()]
        try:
            await self.deps.client.views_open(
                trigger_id=as_text(body.get("trigger_id")),
                view=blocks.filing_modal(taxonomy=taxonomy),
            )
        except SlackApiError as error:
            log.warning("views.open failed: %s", error.response.get("error"))
            await respond(text="Slack did not open the form; please try again.")

    # --- the filing modal ---------------------------------------------------------------

    async def check_filing(self, body: Mapping[str, Any]) -> FilingCheck:
        """Validate a filing form before it is acknowledged, so errors show on the form."""
        user = user_id(body)
        person = await self.deps.directory.person_for(user) if user else None
        if person is None:
            return FilingCheck({blocks.FILING_BLOCKS["code"]: UNKNOWN_USER})
        try:
            data = blocks.filing_values(state_values(body))
        except ValueError as error:
            return FilingCheck({blocks.FILING_BLOCKS["details"]: str(error)})
        try:
            request = parse_request({**data, "requester": person.id})
        except InvalidRequest as invalid:
            return FilingCheck(_errors_by_block(invalid.problems))
        problems = request_problems(request, self.svc.policy)
        if problems:
            return FilingCheck(_errors_by_block(problems))
        return FilingCheck(person=person, request=request)

    async def file(
        self, person: Person, request: ExceptionRequest, body: Mapping[str, Any]
    ) -> None:
        where = Where(user_id(body))
        try:
            result = await file_exception(
                self.svc, Actor(person.id, PLATFORM, where.user), FileException(request)
            )
        except Exception as error:
            await self.tell(where, error_text(error))
            return
        self.deps.wake_delivery()
        details = await case_details(self.svc, result.case.id)
        card = build_card_view(self.svc.policy, details, person.id, self.svc.clock.now())
        if not result.created:  # the same form submitted again: the case it made already
            card = replace(card, notice=already_filed(result.case))
        try:
            opened = await self.deps.client.conversations_open(users=where.user)
            await self.deps.client.chat_postMessage(
                channel=opened["channel"]["id"], **blocks.card_message(card)
            )
        except SlackApiError as error:
            log.warning("could not show %s its filing: %s", where.user, error.response)

    # --- App Home -----------------------------------------------------------------------

    async def publish_home(self, user: str) -> None:
        if not user:
            return
        person = await self.deps.directory.person_for(user)
        if person is None:
            view = {"type": "home", "blocks": blocks.notice_message(UNKNOWN_USER)["blocks"]}
        else:
            policy = self.svc.policy
            pending = [
                build_card_view(policy, details, person.id, self.svc.clock.now())
                for details in await pending_approvals(self.svc, person.id)
            ]
            requests = [
                build_card_view(
                    policy, await case_details(self.svc, case.id), person.id, self.svc.clock.now()
                )
                for case in await requests_of(self.svc, person.id)
            ]
            view = blocks.home_view(pending=pending, requests=requests, person_name=person.name)
        await self.deps.client.views_publish(user_id=user, view=view)


def _rationale(body: Mapping[str, Any]) -> str | None:
    return blocks.rationale_value(state_values(body))


def _errors_by_block(problems: list[tuple[str, str]]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for field_name, message in problems:
        block = _field_block(field_name)
        errors[block] = f"{errors[block]} {message}" if block in errors else message
    return errors

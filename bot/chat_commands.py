"""The text commands people type, on every platform: `/exception ...` and `/approvals ...`.

Parsing only: text in, a frozen command out (or a UsageError saying what was wrong). What the
commands do is in bot.conversation.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.remediation_chat import parse_remediation
from cards.filing_text import detail_value
from handlers.commands import (
    Answer,
    ComeBack,
    Comment,
    Decide,
    GoAway,
    PolicyCommand,
    Reassign,
    Revoke,
    Withdraw,
)
from handlers.remediation import RemediationCommand
from policy.lifecycle import Action, parse_case_ref
from policy.model import Policy

# A platform's mention (or a typed name) -> a person id of the policy, or None if unknown.
PersonResolver = Callable[[str], str | None]


class UsageError(Exception):
    """The text is not a command we understand; the message says how to write it."""


# Questions typed in chat, answered by the read side (`bot.conversation`); every command that
# changes something is the handlers' own (`handlers.commands`).


@dataclass(frozen=True, slots=True)
class ShowHelp:
    pass


@dataclass(frozen=True, slots=True)
class NewException:
    fields: dict[str, Any]  # raw request fields; requester is filled in from the actor


@dataclass(frozen=True, slots=True)
class ShowStatus:
    case_id: int


@dataclass(frozen=True, slots=True)
class ListMyRequests:
    pass


@dataclass(frozen=True, slots=True)
class ListMyApprovals:
    pass


@dataclass(frozen=True, slots=True)
class ShowStats:
    days: int = 30  # the cases filed in the last `days` days


@dataclass(frozen=True, slots=True)
class ShowDashboard:
    pass


ChatCommand = (
    ShowHelp
    | NewException
    | ShowStatus
    | ListMyRequests
    | ListMyApprovals
    | ShowStats
    | ShowDashboard
    | Decide
    | Answer
    | Withdraw
    | Comment
    | Revoke
    | GoAway
    | ComeBack
    | Reassign
    | PolicyCommand
    | RemediationCommand
)

HELP = """\
/exception new CODE "Title" amount=18250 currency=USD supplier.name="Acme" key=value ...
    file an exception (fields: amount, currency, category, cost_center, project_code,
    legal_entity, urgency, supplier.id|name|risk_score|on_contract, budget.remaining,
    references.NAME, details.NAME); or /exception new {"code": ..., "title": ...}
/exception status EXC-000123     show a case and its history
/exception list                  your open requests
/exception withdraw EXC-000123 [reason]
/exception comment EXC-000123 text
/exception answer EXC-000123 text    answer an approver's question (reopens the step)
/exception help
/approvals                       what waits for your approval
/approvals approve|reject|info EXC-000123 [rationale]
/approvals revoke EXC-000123 reason      (admins)
/approvals away until 2026-12-01 [delegate @lee]
    away through that day: your new and open approvals go to the delegate
    (without one, to your delegate in the policy)
/approvals back                          back early; approvals come to you again
/approvals reassign EXC-000123 @carol reason     hand your step to someone else
/approvals stats [30d]                   KPIs of your cases (admins and auditors: all cases)
/approvals remediation [list | show REM-000001 | ack REM-000001 | close REM-000001 fix]
    the remediation items of the codes you own (closing needs the root cause and fix)
/approvals dashboard                     a link to the dashboard, for you alone"""

_TYPED_FIELDS = {
    "amount",
    "currency",
    "category",
    "cost_center",
    "project_code",
    "legal_entity",
    "urgency",
    "title",
    "supplier.id",
    "supplier.name",
    "supplier.risk_score",
    "supplier.on_contract",
    "budget.remaining",
}
_FREE_MAPS = ("references", "details")
_DECISIONS = {"approve": Action.APPROVE, "reject": Action.REJECT, "info": Action.REQUEST_INFO}


_DAYS = re.compile(r"([0-9]{1,4})d?", re.ASCII)


def parse_days(word: str) -> int:
    """`30d` or `30`: a number of days, 1 to 3660."""
    match = _DAYS.fullmatch(word)
    if match is None or not 0 < int(match.group(1)) <= 3660:
        raise UsageError(f"{word!r} is not a number of days like 30d.")
    return int(match.group(1))


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as error:
        raise UsageError(f"Could not read that command ({error}); check the quotes.") from None


def _case_id(words: list[str], usage: str) -> int:
    if not words:
        raise UsageError(f"Which case? Usage: {usage}")
    case_id = parse_case_ref(words[0])
    if case_id is None:
        raise UsageError(f"{words[0]!r} is not a case id like EXC-000123. Usage: {usage}")
    return case_id


def _rest(words: list[str]) -> str | None:
    return " ".join(words).strip() or None


def _new_exception(rest: str) -> NewException:
    if rest.lstrip().startswith("{"):
        try:
            data = json.loads(rest)
        except json.JSONDecodeError as error:
            raise UsageError(f"That JSON does not parse: {error.msg} at {error.pos}.") from None
        if not isinstance(data, dict):
            raise UsageError("The JSON must be an object.")
        return NewException(data)
    words = _split(rest)
    if not words:
        raise UsageError('Usage: /exception new CODE "Title" amount=1200 currency=USD ...')
    fields: dict[str, Any] = {"code": words[0]}
    title: list[str] = []
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep:
            title.append(word)
            continue
        if key not in _TYPED_FIELDS and not key.startswith(tuple(f"{m}." for m in _FREE_MAPS)):
            raise UsageError(f"Unknown field {key!r}. Type /exception help for the list.")
        target = fields
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = (
            value
            if key in ("currency", "title") or key.startswith("references.")
            else detail_value(value)
        )
    if title and "title" not in fields:
        fields["title"] = " ".join(title)
    return NewException(fields)


def parse_exception_command(text: str) -> ChatCommand:
    """`/exception <text>`; unknown text gets the help, not an error."""
    head, _, rest = text.strip().partition(" ")
    words = rest.split()  # free text (reasons, comments) is taken as typed, quotes and all
    match head.lower():
        case "new" | "file":
            return _new_exception(rest)
        case "status":
            return ShowStatus(_case_id(words, "/exception status EXC-000123"))
        case "list":
            return ListMyRequests()
        case "withdraw":
            usage = "/exception withdraw EXC-000123 [reason]"
            return Withdraw(_case_id(words, usage), _rest(words[1:]))
        case "comment":
            usage = "/exception comment EXC-000123 text"
            case_id = _case_id(words, usage)
            text_ = _rest(words[1:])
            if text_ is None:
                raise UsageError(f"What is the comment? Usage: {usage}")
            return Comment(case_id, text_)
        case "answer":
            usage = "/exception answer EXC-000123 text"
            case_id = _case_id(words, usage)
            text_ = _rest(words[1:])
            if text_ is None:
                raise UsageError(f"What is your answer? Usage: {usage}")
            return Answer(case_id, text_)
        case _:
            return ShowHelp()


_AWAY_USAGE = "/approvals away until 2026-12-01 [delegate @lee]"
_REASSIGN_USAGE = "/approvals reassign EXC-000123 @carol [from @dana] reason"
# Slack escapes: <@U123>, <@U123|name>, <mailto:a@b.example|a@b.example>
_SLACK_USER = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_MAILTO = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>")


def resolve_mention(policy: Policy, text: str) -> str | None:
    """A person id for `@lee`, `lee`, `lee@acme.example` or Slack's `<@U0LEE|lee>`."""
    text = text.strip()
    if slack := _SLACK_USER.fullmatch(text):
        person = policy.by_slack_id(slack.group(1))
    elif mail := _MAILTO.fullmatch(text):
        person = policy.find_person(mail.group(1))
    else:
        person = policy.find_person(text.removeprefix("@"))
    return person.id if person is not None else None


def policy_resolver(policy: Policy) -> PersonResolver:
    return lambda text: resolve_mention(policy, text)


def unknown_person(text: str) -> str:
    return f"I don't know who {text!r} is: name a person of the policy by id, email or @mention."


def _next_token(text: str) -> tuple[str, str]:
    """The first word of `text` (a `<...>` mention counts as one word) and the rest."""
    text = text.lstrip()
    if text.startswith("<") and ">" in text:
        end = text.index(">") + 1
        return text[:end], text[end:].strip()
    head, _, rest = text.partition(" ")
    return head, rest.strip()


def person_of(token: str, resolve: PersonResolver, usage: str) -> str:
    """The person id `token` names, or a UsageError."""
    if not token:
        raise UsageError(f"Who? Usage: {usage}")
    person = resolve(token)
    if person is None:
        raise UsageError(unknown_person(token))
    return person


def _away(rest: str, resolve: PersonResolver) -> GoAway:
    keyword, rest = _next_token(rest)
    day, rest = _next_token(rest)
    if keyword.lower() != "until" or not day:
        raise UsageError(f"Until when? Usage: {_AWAY_USAGE}")
    try:
        until = date.fromisoformat(day)
    except ValueError:
        raise UsageError(f"{day!r} is not a date like 2026-12-01. Usage: {_AWAY_USAGE}") from None
    if not rest:
        return GoAway(until, None)
    keyword, rest = _next_token(rest)
    who, extra = _next_token(rest)
    if keyword.lower() != "delegate" or extra:
        raise UsageError(f"Usage: {_AWAY_USAGE}")
    return GoAway(until, person_of(who, resolve, _AWAY_USAGE))


def _reassign(rest: str, resolve: PersonResolver) -> Reassign:
    first, rest = _next_token(rest)
    case_id = _case_id([first] if first else [], _REASSIGN_USAGE)
    who, reason = _next_token(rest)
    to = person_of(who, resolve, _REASSIGN_USAGE)
    place = None
    keyword, after = _next_token(reason)
    whose, rest = _next_token(after)
    if keyword.lower() == "from" and (found := resolve(whose)) is not None:
        place, reason = found, rest  # an admin moving someone else's place
    if not reason:
        raise UsageError(f"Handing a step on needs a reason. Usage: {_REASSIGN_USAGE}")
    return Reassign(case_id, to, reason, place)


def parse_approvals_command(text: str, resolve: PersonResolver) -> ChatCommand:
    """`/approvals [approve|reject|info|revoke|reassign EXC-... text | away ... | back]`.

    No text lists the queue. `resolve` maps the platform's mentions to person ids (see
    `policy_resolver`); a mention of nobody in the policy is a UsageError.
    """
    words = text.split()
    if not words:
        return ListMyApprovals()
    verb = words[0].lower()
    rest = text.strip()[len(words[0]) :]
    if verb == "away":
        return _away(rest, resolve)
    if verb == "back":
        if len(words) > 1:
            raise UsageError("Usage: /approvals back")
        return ComeBack()
    if verb == "reassign":
        return _reassign(rest, resolve)
    if verb in _DECISIONS:
        usage = f"/approvals {verb} EXC-000123 [rationale]"
        return Decide(_case_id(words[1:], usage), _DECISIONS[verb], _rest(words[2:]))
    if verb == "revoke":
        usage = "/approvals revoke EXC-000123 reason"
        case_id = _case_id(words[1:], usage)
        reason = _rest(words[2:])
        if reason is None:
            raise UsageError(f"Revoking needs a reason. Usage: {usage}")
        return Revoke(case_id, reason)
    if verb == "list":
        return ListMyApprovals()
    if verb == "stats" and len(words) <= 2:
        return ShowStats(parse_days(words[1]) if len(words) == 2 else 30)
    if verb == "dashboard" and len(words) == 1:
        return ShowDashboard()
    if verb == "remediation":
        try:
            return parse_remediation(words[1:])
        except ValueError as error:
            raise UsageError(str(error)) from None
    return ShowHelp()

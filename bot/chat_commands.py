"""The text commands people type, on every platform: `/exception ...` and `/approvals ...`.

Parsing only: text in, a frozen command out (or a UsageError saying what was wrong). What the
commands do is in bot.conversation.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from storage.records import Action, parse_case_ref


class UsageError(Exception):
    """The text is not a command we understand; the message says how to write it."""


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
class WithdrawCase:
    case_id: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class CommentOnCase:
    case_id: int
    text: str


@dataclass(frozen=True, slots=True)
class ListMyApprovals:
    pass


@dataclass(frozen=True, slots=True)
class DecideCase:
    case_id: int
    action: Action
    rationale: str | None


@dataclass(frozen=True, slots=True)
class RevokeCase:
    case_id: int
    reason: str


ChatCommand = (
    ShowHelp
    | NewException
    | ShowStatus
    | ListMyRequests
    | WithdrawCase
    | CommentOnCase
    | ListMyApprovals
    | DecideCase
    | RevokeCase
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
/exception help
/approvals                       what waits for your approval
/approvals approve|reject|info EXC-000123 [rationale]
/approvals revoke EXC-000123 reason      (admins)"""

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


def _scalar(text: str) -> Any:
    """Values typed in chat: true/false, numbers, else the text itself."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


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
            else _scalar(value)
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
            return WithdrawCase(_case_id(words, usage), _rest(words[1:]))
        case "comment":
            usage = "/exception comment EXC-000123 text"
            case_id = _case_id(words, usage)
            text_ = _rest(words[1:])
            if text_ is None:
                raise UsageError(f"What is the comment? Usage: {usage}")
            return CommentOnCase(case_id, text_)
        case _:
            return ShowHelp()


def parse_approvals_command(text: str) -> ChatCommand:
    """`/approvals [approve|reject|info|revoke EXC-... text]`; no text lists the queue."""
    words = text.split()
    if not words:
        return ListMyApprovals()
    verb = words[0].lower()
    if verb in _DECISIONS:
        usage = f"/approvals {verb} EXC-000123 [rationale]"
        return DecideCase(_case_id(words[1:], usage), _DECISIONS[verb], _rest(words[2:]))
    if verb == "revoke":
        usage = "/approvals revoke EXC-000123 reason"
        case_id = _case_id(words[1:], usage)
        reason = _rest(words[2:])
        if reason is None:
            raise UsageError(f"Revoking needs a reason. Usage: {usage}")
        return RevokeCase(case_id, reason)
    if verb == "list":
        return ListMyApprovals()
    return ShowHelp()

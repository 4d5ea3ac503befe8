"""`/policy ...` typed in chat: text in, the handlers' policy commands out (or a UsageError
carrying the usage). What they do is in handlers.policy_admin."""

from __future__ import annotations

import re

from bot.chat_commands import ChatCommand, PersonResolver, UsageError, parse_days, person_of
from handlers.commands import (
    PolicyBacktest,
    PolicyDecide,
    PolicyDiff,
    PolicyDiscard,
    PolicyEdit,
    PolicyHistory,
    PolicyPropose,
    PolicyRollback,
    PolicyShow,
)

POLICY_HELP = """\
/policy show [tier ID | rule ID | person ID]     the active version, or one part of it
/policy set tier ID approvers @a @b group:NAME   also: backup, mode (any|all|N), sla, remind,
                                                 escalate_after, on_timeout
/policy set rule ID when <CEL expression>        also: route TIER..., outcome approve|reject|none,
                                                 rationale required|optional
/policy set person ID manager @x                 also: delegate, roles admin auditor
/policy group NAME add|remove @a
/policy diff                                     your draft against the active version
/policy backtest [30d]                           your draft replayed on past cases
/policy propose <reason>                         send your draft to the other admins
/policy approve POL-000001 [note] | reject POL-000001 <reason> | discard
/policy history                                  versions with who, when, why
/policy rollback <version> <reason>              propose an earlier version again"""

_PEOPLE_FIELDS = {"approvers", "backup", "manager", "delegate"}
_POLICY_REF = re.compile(r"(?:POL-?)?0*([0-9]{1,9})", re.IGNORECASE | re.ASCII)


def _policy_ref(word: str) -> int:
    match = _POLICY_REF.fullmatch(word)
    if match is None or int(match.group(1)) == 0:
        raise UsageError(f"{word!r} is not a policy version like POL-000001.")
    return int(match.group(1))


def _resolved(words: list[str], resolve: PersonResolver) -> list[str]:
    """Mentions among the values of a people field, as person ids."""
    if words[:1] == ["group"]:
        head, people = words[:3], words[3:]
    elif len(words) > 4 and words[1] in ("tier", "person") and words[3] in _PEOPLE_FIELDS:
        head, people = words[:4], words[4:]
    else:
        return words
    kept = [
        p if p.startswith("group:") or p == "none" else person_of(p, resolve, POLICY_HELP)
        for p in people
    ]
    return head + kept


def parse_policy_command(text: str, resolve: PersonResolver) -> ChatCommand:
    """`/policy show|set|group|diff|propose|approve|reject|discard|history|rollback ...`."""
    words = text.split()
    verb = words[0].lower() if words else "show"
    rest = " ".join(words[1:]).strip()
    match verb:
        case "show":
            if len(words) == 3 and words[1] in ("tier", "rule", "person"):
                return PolicyShow(words[1], words[2])
            if len(words) == 1 or not words:
                return PolicyShow()
        case "set" | "group":
            return PolicyEdit(tuple(_resolved(words, resolve)))
        case "diff" if len(words) == 1:
            return PolicyDiff()
        case "propose" if rest:
            return PolicyPropose(rest)
        case "approve" if len(words) >= 2:
            return PolicyDecide(_policy_ref(words[1]), True, " ".join(words[2:]) or None)
        case "reject" if len(words) >= 3:
            return PolicyDecide(_policy_ref(words[1]), False, " ".join(words[2:]))
        case "backtest" if len(words) <= 2:
            return PolicyBacktest(parse_days(words[1]) if len(words) == 2 else 30)
        case "discard" if len(words) == 1:
            return PolicyDiscard()
        case "history" if len(words) == 1:
            return PolicyHistory()
        case "rollback" if len(words) >= 3:
            return PolicyRollback(words[1], " ".join(words[2:]))
    raise UsageError(POLICY_HELP)

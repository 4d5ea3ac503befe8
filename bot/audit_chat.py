"""`/audit ...` typed in chat (Slack `/audit`, Teams `audit ...`, the console `/audit ...`):
the words, and the reply. What the commands do is in handlers.audit_chat.

An export from chat is a download link (bot.audit_download): private to the person (Slack
answers ephemerally; Teams only in the person's own chat), bound to them, valid 15 minutes.
"""

from __future__ import annotations

import re
from datetime import date

from bot.audit_download import AuditDownloads
from bot.chat_commands import UsageError
from bot.replies import error_text
from handlers.audit_chat import export_range, verify_audit_log
from handlers.audit_commands import AuditCommand, AuditExport, AuditVerify
from handlers.context import Actor, Services
from policy.lifecycle import parse_case_ref

AUDIT_HELP = """\
/audit verify      check the audit log: its hash chain, every case against its record,
                   and the latest checkpoint sent to the auditors
/audit export [--since 2026-01-31|30d] [--case EXC-000123]
                   a download link to the log (or part of it) as JSON Lines, for you
                   alone, valid 15 minutes
Auditors and admins only. On the server, `approvals audit verify|export` does the same."""

NO_LINKS = (
    "An export from chat comes as a download link, and this server has no public address "
    "to link to (APPROVALS_PUBLIC_URL is not set). Ask an operator to run "
    "`approvals audit export` on the server instead."
)

_DAYS = re.compile(r"([0-9]{1,4})d", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def parse_audit_command(text: str) -> AuditCommand:
    """`verify`, or `export [--since DATE|30d] [--case EXC-...]`; else a UsageError."""
    words = text.split()
    verb = words[0].lower() if words else ""
    if verb == "verify" and len(words) == 1:
        return AuditVerify()
    if verb == "export":
        return _export(words[1:])
    raise UsageError(AUDIT_HELP)


def _options(words: list[str]) -> dict[str, str]:
    """`--name value` and `--name=value` pairs, each name at most once."""
    found: dict[str, str] = {}
    rest = list(words)
    while rest:
        word = rest.pop(0)
        name, sep, value = word.partition("=")
        if name not in ("--since", "--case"):
            raise UsageError(f"Unknown word {word[:40]!r}.\n{AUDIT_HELP}")
        if not sep:
            if not rest:
                raise UsageError(f"{name} needs a value.\n{AUDIT_HELP}")
            value = rest.pop(0)
        if name in found:
            raise UsageError(f"{name} is given twice.\n{AUDIT_HELP}")
        found[name] = value
    return found


def _export(words: list[str]) -> AuditExport:
    options = _options(words)
    case_id = since = days = None
    if (case := options.get("--case")) is not None:
        case_id = parse_case_ref(case)
        if case_id is None:
            raise UsageError(f"{case[:40]!r} is not a case id like EXC-000123.\n{AUDIT_HELP}")
    if (when := options.get("--since")) is not None:
        if match := _DAYS.fullmatch(when):
            days = int(match.group(1))
            if not 0 < days <= 3660:
                raise UsageError(f"--since counts 1 to 3660 days back, like 30d.\n{AUDIT_HELP}")
        else:
            since = _date(when)
    return AuditExport(case_id, since, days)


def _date(text: str) -> date:
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise UsageError(
        f"{text[:40]!r} is not a date like 2026-01-31 or a number of days like 30d.\n{AUDIT_HELP}"
    )


async def audit_reply(
    svc: Services, actor: Actor, command: AuditCommand, downloads: AuditDownloads | None
) -> str:
    """The reply to an audit command; every failure becomes a reply, never an exception."""
    try:
        if isinstance(command, AuditVerify):
            return await verify_audit_log(svc, actor)
        wanted = await export_range(svc, actor, command)
        link = downloads.link(actor.id, wanted, svc.clock.now()) if downloads else None
        if link is None:
            return NO_LINKS
        minutes = int(downloads.signer.lifetime.total_seconds() // 60) if downloads else 0
        return (
            f"Your download of {wanted.describe()}, as JSON Lines: {link}\n"
            f"The link is for you alone and works for {minutes} minutes; each download is "
            "recorded in the audit log."
        )
    except Exception as error:
        return error_text(error)

"""`/audit ...` in the console. Whoever types here is at the machine, so an export is written
straight to a file (the current directory, or `--output FILE`) instead of a link; it is
recorded in the audit log like a download."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.audit_chat import AUDIT_HELP, audit_reply, parse_audit_command
from bot.audit_download import export_filename
from bot.audit_export import stream_export
from bot.chat_commands import UsageError
from bot.replies import error_text
from handlers.audit_chat import export_range, record_export
from handlers.audit_commands import AuditExport
from handlers.context import Actor, Services

CONSOLE_USAGE = f"{AUDIT_HELP}\nIn the console, /audit export writes a file: --output FILE."


def _output(words: list[str]) -> tuple[list[str], str | None]:
    """The words without `--output FILE` (or `--output=FILE`), and that file."""
    for index, word in enumerate(words):
        if word == "--output" and index + 1 < len(words):
            return words[:index] + words[index + 2 :], words[index + 1]
        if word.startswith("--output="):
            return words[:index] + words[index + 1 :], word.removeprefix("--output=") or None
        if word == "--output":
            raise UsageError(f"--output needs a file.\n{AUDIT_HELP}")
    return words, None


async def console_audit(svc: Services, actor: Actor, text: str, say: Callable[[str], None]) -> None:
    try:
        words, output = _output(text.split())
        command = parse_audit_command(" ".join(words))
        if output is not None and not isinstance(command, AuditExport):
            raise UsageError(f"Only /audit export writes a file.\n{AUDIT_HELP}")
    except UsageError as error:
        say(str(error).replace(AUDIT_HELP, CONSOLE_USAGE))
        return
    if not isinstance(command, AuditExport):
        say(await audit_reply(svc, actor, command, None))
        return
    try:
        wanted = await export_range(svc, actor, command)
        path = Path(output) if output else Path(export_filename(wanted, svc.clock.now()))
        count = 0
        # opened first: a file that cannot be written leaves no export in the audit log
        with path.open("w", encoding="utf-8", newline="") as out:
            through = await record_export(svc, actor, wanted)
            async for line in stream_export(
                svc.db, case=wanted.case, since=wanted.since, through=through
            ):
                out.write(line)
                count += 1
    except OSError as error:
        say(f"Could not write the export: {error.strerror or error}.")
        return
    except Exception as error:
        say(error_text(error))
        return
    say(f"Exported {count} events ({wanted.describe()}) to {path.resolve()}.")

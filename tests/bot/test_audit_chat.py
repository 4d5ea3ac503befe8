"""`/audit ...` words, the replies chat gets, and the console writing the export to a file."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from bot.audit_chat import AUDIT_HELP, NO_LINKS, audit_reply, parse_audit_command
from bot.audit_download import AuditDownloads
from bot.chat_commands import UsageError
from bot.console import ConsoleSession
from bot.links import LinkSigner
from handlers.audit_commands import AuditExport, AuditVerify
from handlers.context import Actor, Services
from tests.handlers.conftest import counts, file

SECRET = "a-test-link-secret-of-32-characters!"


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("verify", AuditVerify()),
        ("VERIFY", AuditVerify()),
        ("export", AuditExport()),
        ("export --since 30d", AuditExport(days=30)),
        ("export --since=2026-01-31", AuditExport(since=date(2026, 1, 31))),
        ("export --case EXC-000001", AuditExport(case_id=1)),
        ("export --case exc-7 --since 2026-01-31", AuditExport(7, date(2026, 1, 31))),
    ],
)
def test_the_words(text: str, command: object) -> None:
    assert parse_audit_command(text) == command


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", ""),
        ("help", ""),
        ("verify now", ""),
        ("delete", ""),
        ("export --since", "--since needs a value"),
        ("export --since yesterday", "'yesterday' is not a date like 2026-01-31"),
        ("export --since 2026-02-30", "'2026-02-30' is not a date"),
        ("export --since 0d", "--since counts 1 to 3660 days"),
        ("export --since 99999d", "is not a date"),
        ("export --case POL-1", "'POL-1' is not a case id"),
        ("export --case 1 --case 2", "--case is given twice"),
        ("export --format csv", "Unknown word '--format'"),
        ("export --output x.jsonl", "Unknown word '--output'"),  # the console's own
        ("export EXC-000001", "Unknown word 'EXC-000001'"),
    ],
)
def test_bad_words_get_the_usage(text: str, says: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse_audit_command(text)
    assert says in str(refused.value)
    assert AUDIT_HELP in str(refused.value)


async def test_the_export_reply_is_a_link_or_says_why_not(services: Services) -> None:
    await file(services)
    aud = Actor("aud", "slack", "U0AUD")
    downloads = AuditDownloads(LinkSigner(SECRET), "https://approvals.example.com")
    before = await counts(services.db)

    reply = await audit_reply(services, aud, AuditExport(case_id=1), downloads)
    assert reply.startswith(
        "Your download of the audit events of EXC-000001, as JSON Lines: "
        "https://approvals.example.com/audit/export?token="
    )
    assert "for you alone and works for 15 minutes" in reply
    assert await audit_reply(services, aud, AuditExport(), None) == NO_LINKS
    no_url = AuditDownloads(LinkSigner(SECRET), None)
    assert await audit_reply(services, aud, AuditExport(), no_url) == NO_LINKS
    assert await counts(services.db) == before  # handing out a link records nothing yet

    refused = await audit_reply(services, Actor("rita", "slack"), AuditExport(), downloads)
    assert refused == "Only a policy admin or auditor can do that, and you are not one."
    unknown = await audit_reply(services, aud, AuditExport(case_id=9), downloads)
    assert unknown == "EXC-000009 has no audit events: is it the right case?"


@pytest.fixture
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(here)


async def _console(services: Services, script: str) -> str:
    out = io.StringIO()
    assert await ConsoleSession(services, io.StringIO(script), out).run() == 0
    return out.getvalue()


async def test_the_console_verifies_and_writes_the_export_to_a_file(
    services: Services, in_tmp: Path
) -> None:
    await file(services)
    output = await _console(
        services,
        "as aud\n/audit verify\n/audit export\n"
        "/audit export --case EXC-000001 --output one.jsonl\n",
    )

    assert "The audit log is intact: 3 events, head " in output
    default = in_tmp / "audit-export-20260302T090000Z.jsonl"
    assert f"Exported 4 events (the audit log) to {default}." in output
    rows = [json.loads(line) for line in default.read_text(encoding="utf-8").splitlines()]
    assert [row["action"] for row in rows][-1] == "audit.exported"
    assert rows[-1]["platform"] == "console"
    one = in_tmp / "one.jsonl"
    assert f"Exported 3 events (the audit events of EXC-000001) to {one}." in output
    assert len(one.read_text(encoding="utf-8").splitlines()) == 3


async def test_the_console_refuses_others_and_explains_bad_words(
    services: Services, in_tmp: Path
) -> None:
    await file(services)
    before = await counts(services.db)
    output = await _console(
        services,
        "as rita\n/audit export --output mine.jsonl\n"
        "as aud\n/audit shred\n/audit verify --output x\n/audit export --output\n"
        f"/audit export --output {in_tmp}\n",
    )

    assert "Only a policy admin or auditor can do that, and you are not one." in output
    assert not (in_tmp / "mine.jsonl").exists()
    assert output.count("--output FILE") == 3  # the usage, with the console's own option
    assert "Only /audit export writes a file." in output
    assert "--output needs a file." in output
    assert "Could not write the export: Is a directory." in output
    assert await counts(services.db) == {**before, "audit": before["audit"] + 1}  # the refusal

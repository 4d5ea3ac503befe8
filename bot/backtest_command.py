"""`approvals policy backtest DRAFT.yaml`: past cases under a draft policy, before it goes live.

Reads the cases filed since `--since` (default: the last 30 days) from the database the server
uses, re-evaluates their stored requests under the draft and under the stored policy version
that decided each (the current policy, APPROVALS_POLICY_FILE, for a case older than the stored
versions), and prints what would change (`policy.backtest`). It reads in one
snapshot and writes nothing; a SQLite file that does not exist is not created.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.read_command import (
    DEFAULT_WINDOW,
    CommandError,
    parse_since,
    read_database,
    refuse_missing_sqlite_file,
    write_out,
)
from bot.settings import ConfigurationError, load_settings
from handlers.clock import Clock, SystemClock
from policy.backtest import PastCase, backtest, the_version_that_decided
from policy.loader import PolicyError, load_policy
from policy.model import Policy
from storage.cases import filed_since
from storage.database import Database
from storage.policy_versions import texts_by_version
from storage.records import case_ref


def backtest_command(
    draft: Policy,
    draft_file: Path,
    since: str | None,
    output_format: str,
    *,
    out: TextIO | None = None,
    clock: Clock | None = None,
) -> int:
    """Run the backtest and print it; the exit status (0, or 2 when it cannot run)."""
    out = out if out is not None else sys.stdout
    try:
        start = parse_since(since) if since is not None else _default_start(clock)
        settings = load_settings()
        current = _current_policy(settings.APPROVALS_POLICY_FILE)
        refuse_missing_sqlite_file(settings.APPROVALS_DATABASE_URL, "no cases to backtest")
        past, texts = asyncio.run(_read(settings.APPROVALS_DATABASE_URL, start))
    except (CommandError, ConfigurationError) as error:
        print(error, file=sys.stderr)
        return 2
    report = backtest(past, the_version_that_decided(texts, current), draft)
    if output_format == "json":
        text = report.to_json()
    else:
        text = f"{_heading(draft, draft_file, current, start)}\n{report.to_text()}"
    return write_out(out, text + "\n")


def _default_start(clock: Clock | None) -> datetime:
    return (clock or SystemClock()).now() - DEFAULT_WINDOW


def _current_policy(path: Path) -> Policy:
    """What `approvals serve` runs: the policy every past case is compared against."""
    try:
        return load_policy(path)
    except PolicyError as error:
        raise CommandError(
            f"The current policy (APPROVALS_POLICY_FILE) has problems:\n{error}"
        ) from None


async def _read(url: str, since: datetime) -> tuple[list[PastCase], dict[str, str]]:
    """The past cases and the stored text of every policy version, in one snapshot."""
    return await read_database(url, lambda db: read_cases(db, since))


async def read_cases(db: Database, since: datetime) -> tuple[list[PastCase], dict[str, str]]:
    """The cases filed at or after `since`, oldest id first, and the stored text of every
    policy version (to compare each case with the one that decided it), in one snapshot."""
    async with db.reading() as conn:
        rows = await filed_since(conn, since)
        texts = await texts_by_version(conn)
    past = [PastCase(case_ref(r.id), r.request, r.created_at, r.policy_version) for r in rows]
    return past, texts


def _heading(draft: Policy, draft_file: Path, current: Policy, since: datetime) -> str:
    return (
        f"Backtest of {draft_file} ({draft.name}, version {draft.version[:12]})\n"
        f"against the stored version that decided each case (older cases: the current policy "
        f"{current.source}, {current.name}, version {current.version[:12]}),\n"
        f"on the cases filed since {since.isoformat(timespec='seconds')}."
    )

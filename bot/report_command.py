"""`approvals report [--since 30d|2026-10-01] [--format text|json|csv]`: the exception
program's KPIs (`policy.kpis`), for the whole program.

Reads the database the server uses, in one snapshot, and writes nothing; a SQLite file that
does not exist is not created. Drift is measured against the policy in force: the active
version stored in the database (the policy file, before a server has ever stored one).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
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
from handlers.context import Services
from handlers.reports import program_report
from policy.durations import parse_duration
from policy.kpi_report import CSV_HEADER, KpiReport
from policy.kpi_text import report_text
from policy.loader import PolicyError, load_policy, parse_policy
from policy.model import Policy
from storage import policy_versions as versions
from storage.database import Database

FORMATS = ("text", "json", "csv")


def window_start(since: str | None, now: datetime) -> datetime:
    """Where the window opens: `30d` (or any duration, `12h`) before now, a date (midnight
    UTC) or an ISO time; the last 30 days by default."""
    if since is None:
        return now - DEFAULT_WINDOW
    try:
        return now - parse_duration(since)
    except (ValueError, OverflowError):
        pass
    try:
        return parse_since(since)
    except CommandError:
        raise CommandError(
            f"--since {since!r} is not a span like 30d, a date like 2026-10-01 or a time like "
            "2026-10-01T09:00:00+02:00."
        ) from None


def report_command(
    since: str | None, output_format: str, *, out: TextIO | None = None, clock: Clock | None = None
) -> int:
    """Compute the report and print it; the exit status (0, or 2 when it cannot run)."""
    out = out if out is not None else sys.stdout
    clock = clock or SystemClock()
    try:
        start = window_start(since, clock.now())
        settings = load_settings()
        refuse_missing_sqlite_file(settings.APPROVALS_DATABASE_URL, "no cases to report on")

        async def read(db: Database) -> KpiReport:
            policy = await _policy_in_force(db, settings.APPROVALS_POLICY_FILE)
            return await program_report(Services(db, policy, clock), start)

        report = asyncio.run(read_database(settings.APPROVALS_DATABASE_URL, read))
    except (CommandError, ConfigurationError) as error:
        print(error, file=sys.stderr)
        return 2
    return write_out(out, rendered(report, output_format))


def rendered(report: KpiReport, output_format: str) -> str:
    if output_format == "json":
        return json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n"
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(report.csv_rows())
        return buffer.getvalue()
    return report_text(report) + "\n"


async def _policy_in_force(db: Database, policy_file: Path) -> Policy:
    async with db.reading() as conn:
        stored = await versions.active(conn)
    try:
        if stored is None:
            return load_policy(policy_file)
        return parse_policy(stored.text, f"the active version {stored.ref}")
    except PolicyError as error:
        raise CommandError(f"The policy in force has problems:\n{error}") from None

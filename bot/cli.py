"""`approvals`: the one command line of the product."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.audit_commands import checkpoint_command, verify_command
from bot.audit_export import write_export
from bot.backtest_command import backtest_command
from bot.composition import build_services, open_database
from bot.console import ConsoleSession
from bot.console_chat import configured_chat
from bot.dashboard_access import DashboardAccess
from bot.digest_command import add_digest_parser, digest_command
from bot.log_format import configure_logging
from bot.migrate_command import add_migrate_parser, migrate_command
from bot.policy_export import export_policy
from bot.report_command import FORMATS, report_command
from bot.serve import serve
from bot.settings import ConfigurationError, Settings, load_settings
from bot.validation import parse_request
from bot.webhook_config import source_secret_findings
from bot.webhooks_command import add_webhooks_parser, webhooks_command
from handlers.clock import SystemClock
from handlers.context import Services
from policy.evaluate import evaluate, request_problems
from policy.loader import PolicyError, load_policy
from policy.simulate import describe
from storage import audit
from storage.database import Database
from storage.migrate import current_revision
from storage.records import case_ref, parse_case_ref

log = logging.getLogger("approvals")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="approvals", description="Procurement exception approvals in chat."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("serve", help="run the HTTP server (intake API, chat platforms, health)")
    sub.add_parser("console", help="a local chat in this terminal, no Slack or Teams needed")
    add_migrate_parser(sub)

    audit_cmd = sub.add_parser("audit", help="verify or export the audit log")
    audit_sub = audit_cmd.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = audit_sub.add_parser(
        "verify", help="recompute the hash chain and check the cases; non-zero exit if broken"
    )
    verify.add_argument(
        "--checkpoint", type=Path, help="a checkpoint kept earlier: the chain must still hold it"
    )
    checkpoint = audit_sub.add_parser("checkpoint", help="print the chain's head as JSON")
    checkpoint.add_argument("--send", action="store_true", help="also DM it to the auditors")
    export = audit_sub.add_parser("export", help="write the audit log as CSV or JSON Lines")
    export.add_argument("--format", choices=("csv", "jsonl"), default="jsonl")
    export.add_argument("--case", help="only this case (EXC-000123)")
    export.add_argument("--since", help="only events at or after this date (2026-01-31) or time")
    export.add_argument("--output", type=Path, help="write here instead of standard output")

    policy_cmd = sub.add_parser(
        "policy", help="check a policy file, simulate an event, or backtest a draft"
    )
    policy_sub = policy_cmd.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    check = policy_sub.add_parser("check", help="validate a policy file")
    check.add_argument("file", type=Path)
    simulate = policy_sub.add_parser("simulate", help="show what the policy does with an event")
    simulate.add_argument("file", type=Path)
    simulate.add_argument("--event", type=Path, required=True, help="an exception event (JSON)")
    backtest = policy_sub.add_parser(
        "backtest", help="what a draft policy would change for past cases (reads, never writes)"
    )
    backtest.add_argument("file", type=Path, help="the draft policy file")
    backtest.add_argument(
        "--since", help="cases filed at or after this date (2026-10-01); default: last 30 days"
    )
    backtest.add_argument(
        "--format", choices=("text", "json"), default="text", help="a summary, or JSON"
    )
    export_policy_cmd = policy_sub.add_parser(
        "export", help="write the active policy version (from the database) as YAML"
    )
    export_policy_cmd.add_argument("--output", type=Path, help="write here, not to stdout")
    report = sub.add_parser("report", help="the exception program's KPIs (reads, never writes)")
    report.add_argument("--since", help="30d (the default), 12h, or a date like 2026-10-01")
    report.add_argument("--format", choices=FORMATS, default="text")
    add_webhooks_parser(sub)
    add_digest_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "report":
        return report_command(args.since, args.format)
    if args.command == "webhooks":
        return webhooks_command(args)
    if args.command == "policy" and args.policy_command != "export":
        return _policy(args)
    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    level = settings.APPROVALS_LOG_LEVEL.upper()
    if args.command == "console" and "APPROVALS_LOG_LEVEL" not in os.environ:
        level = "WARNING"  # the console is a chat: logs stay out of it unless asked for
    configure_logging(level, settings.APPROVALS_LOG_FORMAT)
    if args.command != "migrate":
        logging.getLogger("alembic").setLevel(logging.WARNING)  # start-up noise otherwise
    try:
        return asyncio.run(_run(args, settings))
    except PolicyError as error:
        print(f"The policy file has problems:\n{error}", file=sys.stderr)
        return 2
    except ConfigurationError as error:  # found at start-up, e.g. a token a platform refused
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "migrate":
        return await migrate_command(args, settings)
    if args.command == "audit":
        return await _audit(args, settings)
    if args.command == "policy":  # export: the active version, from the database
        db = await open_database(settings.APPROVALS_DATABASE_URL)
        try:
            return await export_policy(db, args.output)
        finally:
            await db.dispose()
    services = await build_services(settings)
    try:
        if args.command == "console":
            every = settings.APPROVALS_SWEEP_SECONDS  # the overdue sweep runs in the console too
            links = DashboardAccess.for_console(settings)  # printed: `/approvals dashboard`
            chat = configured_chat(settings)  # their people's messages are left for `serve`
            console = ConsoleSession(
                services, sys.stdin, sys.stdout, sweep_seconds=every, dashboard=links, chat=chat
            )
            return await console.run()
        if args.command == "digest":
            return await digest_command(services, args.force)
        return await serve(services, settings)
    finally:
        await services.db.dispose()


def _since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _audit(args: argparse.Namespace, settings: Settings) -> int:
    db = await open_database(settings.APPROVALS_DATABASE_URL)
    try:
        if await current_revision(db) is None:
            print(
                "The database has no approvals schema yet: run `approvals migrate`.",
                file=sys.stderr,
            )
            return 2
        if args.audit_command == "verify":
            return await verify_command(db, args.checkpoint)
        if args.audit_command == "checkpoint":
            policy = load_policy(settings.APPROVALS_POLICY_FILE)
            return await checkpoint_command(Services(db, policy, SystemClock()), args.send)
        return await _export(args, db)
    finally:
        await db.dispose()


async def _export(args: argparse.Namespace, db: Database) -> int:
    case = None
    if args.case:
        case_id = parse_case_ref(args.case)
        if case_id is None:
            print(f"{args.case!r} is not a case id like EXC-000123.", file=sys.stderr)
            return 2
        case = case_ref(case_id)
    try:
        since = _since(args.since) if args.since else None
    except ValueError:
        print(f"--since {args.since!r} is not a date like 2026-01-31.", file=sys.stderr)
        return 2
    try:
        async with db.reading() as conn:
            events = audit.stream_events(conn, case_ref=case, since=since)
            first = await anext(events, None)
            if first is None and case is not None and not await _has_events(conn, case):
                # before --output is opened: an unknown case leaves no empty file behind
                print(f"{case} has no audit events: is it the right case?", file=sys.stderr)
                return 2
            out: TextIO
            with contextlib.ExitStack() as stack:
                if args.output:
                    out = stack.enter_context(args.output.open("w", encoding="utf-8", newline=""))
                else:
                    out = sys.stdout
                count = await write_export(_prepend(first, events), out, args.format)
                out.flush()  # a broken pipe shows here, not in the flush at interpreter exit
    except BrokenPipeError:
        _silence_stdout()
        return 0  # the reader stopped early (`| head`): as `git log | head`, not an error
    print(f"exported {count} events", file=sys.stderr)
    return 0


async def _has_events(conn: AsyncConnection, case: str) -> bool:
    return bool(await audit.events_for_case(conn, case))


async def _prepend(
    first: audit.AuditRecord | None, rest: AsyncIterator[audit.AuditRecord]
) -> AsyncIterator[audit.AuditRecord]:
    if first is not None:
        yield first
    async for event in rest:
        yield event


def _silence_stdout() -> None:
    """Point standard output at os.devnull, so what is still buffered for the closed pipe goes
    nowhere instead of failing again, with "Exception ignored ...", when Python exits."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def _policy(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.file)
    except PolicyError as error:
        print(f"{args.file}: {len(error.problems)} problem(s):", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    if args.policy_command == "check":
        print(
            f"{args.file}: OK: {policy.name}, version {policy.version[:12]}, "
            f"{len(policy.people)} people, {len(policy.tiers)} tiers, {len(policy.rules)} rules"
        )
        for finding in source_secret_findings(policy, os.environ):  # this environment's
            print(f"{args.file}: warning: {finding}", file=sys.stderr)
        return 0
    if args.policy_command == "backtest":
        return backtest_command(policy, args.file, args.since, args.format)
    try:
        event = json.loads(args.event.read_text(encoding="utf-8"))
        request = parse_request(event)
    except (OSError, ValueError) as error:
        print(f"{args.event}: cannot read the event: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        print(f"{args.event}: {error}", file=sys.stderr)
        return 2
    problems = request_problems(request, policy)
    if problems:
        for field, message in problems:
            print(f"{args.event}: {field}: {message}", file=sys.stderr)
        return 2
    print(describe(evaluate(request, policy), policy))
    return 0

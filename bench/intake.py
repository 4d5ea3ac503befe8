"""Intake throughput on SQLite: the real filing handler next to a raw-SQL floor.

    python -m bench.intake [--count 2000] [--warmup 50] [--block 100] [--policy FILE]
                           [--profile N]

The handler run files N realistic requests one by one through `handlers.filing.file_exception`
(one transaction per case, as in production). The floor writes exactly the same rows per case
with plain aiosqlite: no SQLAlchemy, no pydantic, no policy evaluation; only what a case needs
(the request's JSON and hash, the audit chain with `storage.audit.event_hash`, the head) and
the reads the handler must make: the earlier filing of the same event (by source and external
id), who is away now, the policy's aggregates over recent cases (their count, sum and newest
ids, recorded in policy.evaluated) and the code's remediation check, opening the remediation
item (its row, event and messages) at the filing that crosses the threshold.
Both databases are files in a temp dir, migrated with `storage.migrate.upgrade`, with the
product's durability (WAL, synchronous=FULL, BEGIN IMMEDIATE). The two runs alternate in
blocks of cases so that a drifting machine hurts both alike, and they use the same clock
values, so the two databases must end up with identical rows: the benchmark checks that.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bench._common import command, machine_lines, percentile
from bench.intake_floor import FloorRun
from bench.intake_probe import Probe, probe
from bench.intake_workload import VARIANTS, HandlerRun, raw_request, sqlite_url
from bench.tracing import can_count_trips, describe, profile_handler, round_trips
from handlers.commands import FileException
from policy.request import ExceptionRequest
from storage import audit
from storage.database import Database

REPO = Path(__file__).resolve().parent.parent
DEFAULT_POLICY = REPO / "policy" / "examples" / "acme.yaml"
TABLES = (
    "cases",
    "steps",
    "assignments",
    "decisions",
    "audit_events",
    "audit_head",
    "outbox",
    "card_refs",
    "remediation_items",
)


async def timed(file: Callable[[int], Awaitable[None]], cases: range) -> list[float]:
    latencies = []
    for i in cases:
        started = time.perf_counter()
        await file(i)
        latencies.append(time.perf_counter() - started)
    return latencies


def compare(handler_db: Path, floor_db: Path) -> tuple[bool, int, str]:
    """Are the two databases' rows identical? (same, rows compared, first difference)"""
    compared = 0
    with sqlite3.connect(handler_db) as one, sqlite3.connect(floor_db) as two:
        for table in TABLES:
            query = f"SELECT * FROM {table} ORDER BY 1, 2"
            left, right = one.execute(query).fetchall(), two.execute(query).fetchall()
            if len(left) != len(right):
                return False, compared, f"{table}: {len(left)} rows vs {len(right)}"
            for a, b in zip(left, right, strict=True):
                if a != b:
                    return False, compared, f"{table}:\n  handler {a}\n  floor   {b}"
            compared += len(left)
    one.close()
    two.close()
    return True, compared, ""


async def verify_chain(path: Path) -> audit.VerifyResult:
    db = Database.from_url(sqlite_url(path))
    try:
        async with db.reading() as conn:
            return await audit.verify(conn)
    finally:
        await db.dispose()


def reads_lines(found: Probe) -> list[str]:
    """What both runs read, as the header shows it."""
    lines = [
        "an earlier filing of the same event: by source and external id (the ERP",
        "feed sends no Idempotency-Key and is no person: no repeat check)",
        "who is away now (their delegates would take their approvals)",
    ]
    for a in found.aggregates:
        days = a.window.total_seconds() / 86400
        lines += [
            f"aggregate {a.id} ({days:g}d; {', '.join(a.match)}): count, sum",
            f"and the newest {a.named} case ids, one statement, before the insert",
        ]
    rule = found.remediation
    if rule is not None:
        days = rule.within.total_seconds() / 86400
        lines += [
            f"remediation of {rule.code} (an item opens at the {rule.after}th case within"
            f" {days:g}d):",
            "the open item; while none is open, its last close and the code's cases",
        ]
    lines.append("the audit head, to append the events")
    return [f"{'reads:' if n == 0 else '':<10}{line}" for n, line in enumerate(lines)]


def summary(name: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    total = sum(latencies)
    return (
        f"  {name:<8} {len(latencies) / total:>9.1f} {1000 * percentile(ordered, 0.5):>8.2f}"
        f" {1000 * percentile(ordered, 0.99):>8.2f} {total:>9.2f}"
    )


async def main_async(args: argparse.Namespace, policy_file: Path) -> int:
    total = args.warmup + args.count
    requests = [raw_request(i) for i in range(total)]
    commands = []
    for request in requests:  # validated at the edge, before the handler, as in production
        model = ExceptionRequest.model_validate(request)
        if json.dumps(model.model_dump(mode="json", exclude_none=True)) != json.dumps(request):
            raise SystemExit("raw_request() must list the fields in the model's order")
        commands.append(FileException(model))

    print("bench.intake: filing throughput on SQLite, the real handler next to a raw-SQL floor")
    print(f"command:  {command('bench.intake')}")
    for line in machine_lines():
        print(line)
    print(f"database: one SQLite file each under {tempfile.gettempdir()}, migrated; WAL,")
    print("          synchronous=FULL, BEGIN IMMEDIATE; one case per transaction, sequential")
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        workdir = Path(tmp)
        found = await probe(workdir, policy_file, total)
        shown = policy_file.relative_to(REPO) if policy_file.is_relative_to(REPO) else policy_file
        tpl = found.templates[0]
        route = " -> ".join(f"{s.tier} ({', '.join(s.approvers)})" for s in tpl.steps)
        fired = ", ".join(rule["id"] for rule in json.loads(tpl.rules))
        print(f"policy:   {shown}; fired: {fired}")
        print(f"          route: {route}")
        print("request:  OFF_CONTRACT from an ERP (source + external_id): amount, supplier,")
        print(f"          3 references, 3 details; {len(VARIANTS)} amount/supplier variants")
        for line in reads_lines(found):
            print(line)
        counts = ", ".join(f"{t} {n}" for t, n in found.rows.items() if t != "audit_head" and n)
        print(f"rows per filing: {counts}")
        print(
            f"                 audit_head {found.rows['audit_head']} (inserted once, then updated)"
        )
        if found.opening_rows:
            added = ", ".join(f"{t} {n}" for t, n in found.opening_rows.items())
            print(f"                 the filing that opens the item adds {added}")

        handler = await HandlerRun.open(workdir / "handler.db", policy_file, commands)
        reads = (found.aggregates, found.remediation)
        floor = await FloorRun.open(workdir / "floor.db", requests, found.templates, reads)
        try:
            # The probe's traced filing, in the same state here (the head exists, the item
            # is open): the same requests at the same times.
            traced_at = min(found.steady, args.warmup - 1)
            floor_trips: Counter[str] = Counter()
            for i in range(args.warmup):
                await handler.file(i)
                floor.trace.on = i == traced_at
                with round_trips() as trips:
                    await floor.file(i)
                floor.trace.on = False
                if i == traced_at:
                    floor_trips = trips
            floor_statements = floor.trace.take()
            handler_latencies: list[float] = []
            floor_latencies: list[float] = []
            for first in range(args.warmup, total, args.block):
                block = range(first, min(first + args.block, total))
                handler_latencies += await timed(handler.file, block)
                floor_latencies += await timed(floor.file, block)
        finally:
            await handler.close()
            await floor.close()

        print(f"SQL statements of filing #{found.steady + 1} (SQLite's trace on the connection")
        print("the writes run on; executemany counts each row):")
        if traced_at != found.steady:
            print(f"  (the floor's is filing {traced_at + 1}: --warmup is shorter than that)")
        print(f"  handler {describe(found.statements)}")
        print(f"  floor   {describe(floor_statements)}")
        counted = can_count_trips()
        print("hops to another thread by that filing:")
        print(
            f"  handler {describe(found.hops, measured=True)} unit(s) of work, each handed whole"
            " to storage.writer's"
        )
        print(
            f"          SQLite threads; {describe(found.trips, measured=counted)} calls to"
            " aiosqlite's worker thread"
        )
        print(
            f"  floor   {describe(floor_trips, measured=counted)} calls to aiosqlite's worker"
            " thread"
        )
        print(
            f"timed:    {args.count} cases each after {args.warmup} warm-up cases each, "
            f"alternating in blocks of {args.block}"
        )
        print(f"  {'':<8} {'cases/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'total s':>9}")
        print(summary("handler", handler_latencies))
        print(summary("floor", floor_latencies))
        ratio = sum(floor_latencies) / sum(handler_latencies)
        verdict = "meets" if ratio >= 0.5 else "BELOW"
        print(f"ratio handler/floor: {ratio:.2f} ({verdict} the goal of >= 0.5)")

        same, rows, difference = compare(workdir / "handler.db", workdir / "floor.db")
        chain = await verify_chain(workdir / "floor.db")
        if same:
            print(f"check:    floor rows == handler rows ({rows} rows in {len(TABLES)} tables)")
        else:
            print(f"check:    FLOOR ROWS DIFFER from the handler's, first in {difference}")
        print(
            f"          floor chain passes storage.audit.verify: {chain.ok}, {chain.count} events"
        )

        if args.profile:
            profiled = [
                FileException(ExceptionRequest.model_validate(raw_request(i)))
                for i in range(args.profile + 20)
            ]
            print(f"profile of {len(profiled) - 20} handler filings, fresh database:")
            print("  (main thread only: each filing's unit of work runs on the writer thread,")
            print("  unseen here; the idle wait below is mostly that unit, not aiosqlite)")
            for line in await profile_handler(workdir / "profile.db", policy_file, profiled):
                print(line)
    return 0 if same and chain.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.intake",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--count", type=int, default=2000, help="timed cases per run")
    parser.add_argument("--warmup", type=int, default=50, help="untimed cases first, per run")
    parser.add_argument("--block", type=int, default=100, help="cases per alternation block")
    parser.add_argument("--policy", default=str(DEFAULT_POLICY), help="the policy file")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="also profile N handler filings"
    )
    args = parser.parse_args(argv)
    if args.count < 1 or args.warmup < 2 or args.block < 1 or args.profile < 0:
        parser.error("need --count >= 1, --warmup >= 2, --block >= 1, --profile >= 0")
    return asyncio.run(main_async(args, Path(args.policy).resolve()))


if __name__ == "__main__":
    sys.exit(main())

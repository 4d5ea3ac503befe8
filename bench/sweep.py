"""Overdue sweep cost: it should follow the steps that are due, not the steps that are open.

    python -m bench.sweep [--open 100000] [--small 1000] [--due 100] [--repeat 3]

Two SQLite databases, migrated, each with `--due` due steps of the same shape: a case of the
bundled policy waiting for category-lead (Lee Park, Sam Novak), opened an hour ago, whose
reminder is due now. Next to them, the big one has `--open` open steps in all and the small
one `--small`: the others are open but not due for a day. Everything is bulk-inserted with
raw SQL (sqlite3, untimed). Then, in the same run, alternating between the two, one call to
`handlers.sweep.sweep` per database per round claims and handles the due steps (a reminder
each: its audit event, its outbox rows, the step's next action), one transaction per step as
in production. Each round has its own set of due steps. The figure is the ratio of the two
sweep times, which should stay near 1; the run checks that every due step was reminded once
and no other step was touched, and prints the plan SQLite chose for the claim.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench._common import command, machine_lines
from handlers.clock import ManualClock
from handlers.context import Services
from handlers.sweep import Outcome, sweep
from policy.loader import load_policy
from policy.model import Policy
from storage.database import Database
from storage.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
POLICY_FILE = REPO / "policy" / "examples" / "acme.yaml"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROUND = timedelta(minutes=1)  # round r's due steps fall due at NOW + r minutes
TIER, APPROVERS, REQUESTER = "category-lead", ("lee", "sam"), "priya"
REQUEST = json.dumps(
    {
        "code": "OFF_CONTRACT",
        "title": "Laptops from a new reseller",
        "requester": REQUESTER,
        "amount": 1200.0,
        "currency": "EUR",
        "supplier": {"name": "Reseller GmbH", "on_contract": False, "risk_score": 40},
    }
)
CLAIM_SQL = (
    "SELECT id, case_id FROM steps WHERE status = 'open' AND next_action_at <= ? "
    "AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY next_action_at, id LIMIT ?"
)


def stamp(moment: datetime) -> str:
    """A time as SQLAlchemy stores it in SQLite (naive UTC text), so comparisons agree."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def populate(path: Path, policy: Policy, total: int, due: int, rounds: int) -> None:
    """`total` open steps, of which `due` per round fall due at NOW + round minutes."""
    due_ids = {r * (total // rounds) + i + 1: r for r in range(rounds) for i in range(due)}
    opened, later = stamp(NOW - timedelta(hours=1)), stamp(NOW + timedelta(days=1))
    sla = stamp(NOW + timedelta(hours=3))
    cases, steps, people = [], [], []
    for n in range(1, total + 1):
        next_action = stamp(NOW + due_ids[n] * ROUND) if n in due_ids else later
        cases.append((n, f"Case {n}", opened))
        steps.append((n, n, opened, sla, policy.version, next_action))
        people += [(n, person, n, i) for i, person in enumerate(APPROVERS)]
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO cases (id, status, code, title, requester, amount, currency, request,"
            " outcome, rules, skipped_rules, flags, rationale_required, policy_version,"
            " request_hash, created_at, updated_at, version) VALUES (?, 'pending',"
            f" 'OFF_CONTRACT', ?, '{REQUESTER}', 1200.0, 'EUR', '{REQUEST}', 'route', '[]',"
            f" '[]', '[]', 0, '{policy.version}', 'hash', ?3, ?3, 1)",
            cases,
        )
        db.executemany(
            "INSERT INTO steps (id, case_id, position, tier, mode, required, status, opened_at,"
            f" due_at, policy_version, version, next_action_at, reminders_sent, timeout_level)"
            f" VALUES (?, ?, 1, '{TIER}', 'any', 1, 'open', ?, ?, ?, 1, ?, 0, 0)",
            steps,
        )
        db.executemany(
            "INSERT INTO assignments (step_id, person, case_id, ordinal) VALUES (?, ?, ?, ?)",
            people,
        )
        db.execute("ANALYZE")
    db.close()


def claim_plan(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute(f"EXPLAIN QUERY PLAN {CLAIM_SQL}", (stamp(NOW), stamp(NOW), 100))
        plan = [str(row[-1]) for row in rows]
    db.close()
    return plan


def check(path: Path, total: int, due: int, rounds: int) -> tuple[bool, str]:
    """Every due step reminded exactly once, with 2 notes; no other step touched."""
    with sqlite3.connect(path) as db:
        reminded = db.execute("SELECT count(*) FROM steps WHERE reminders_sent = 1").fetchone()[0]
        others = db.execute(
            "SELECT count(*) FROM steps WHERE reminders_sent NOT IN (0, 1) OR version > 2"
        ).fetchone()[0]
        notes = db.execute("SELECT count(*) FROM outbox WHERE kind = 'notify'").fetchone()[0]
        events = db.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'step.reminded'"
        ).fetchone()[0]
        open_steps = db.execute("SELECT count(*) FROM steps WHERE status = 'open'").fetchone()[0]
    db.close()
    want = due * rounds
    ok = (reminded, others, notes, events, open_steps) == (want, 0, 2 * want, want, total)
    return ok, f"{reminded} reminded, {notes} notes, {events} audit events, {open_steps} open"


async def sweep_once(svc: Services, clock: ManualClock, round_no: int, due: int) -> float:
    clock.set(NOW + round_no * ROUND)
    started = time.perf_counter()
    report = await sweep(svc, "bench", limit=due)
    seconds = time.perf_counter() - started
    if report.claimed != due or report.count(Outcome.REMINDED) != due:
        raise SystemExit(f"round {round_no}: expected {due} reminders, got {report}")
    return seconds


async def main_async(args: argparse.Namespace) -> int:
    print("bench.sweep: one overdue sweep among many open steps next to one among few")
    print(f"command:  {command('bench.sweep')}")
    for line in machine_lines():
        print(line)
    policy = load_policy(POLICY_FILE)
    sizes = {"big": args.open, "small": args.small}
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        paths = {name: Path(tmp) / f"{name}.db" for name in sizes}
        services: dict[str, tuple[Services, ManualClock]] = {}
        try:
            started = time.perf_counter()
            for name, total in sizes.items():
                db = Database.from_url(f"sqlite+aiosqlite:///{paths[name]}")
                await upgrade(db)
                populate(paths[name], policy, total, args.due, args.repeat)
                clock = ManualClock(NOW)
                services[name] = (Services(db=db, policy=policy, clock=clock), clock)
            built = time.perf_counter() - started
            print(
                f"data:     SQLite files under {tempfile.gettempdir()}, migrated; big: "
                f"{args.open:,} open steps, small: {args.small:,};"
            )
            print(
                f"          in each, {args.due} due per round ({args.repeat} rounds), the rest "
                "due in a day;"
            )
            print(f"          bulk-inserted with sqlite3 in {built:.1f} s (untimed)")
            print(f"claim:    {' / '.join(claim_plan(paths['big']))}")
            runs: dict[str, list[float]] = {name: [] for name in sizes}
            for round_no in range(args.repeat):
                order = list(sizes) if round_no % 2 == 0 else list(reversed(sizes))
                for name in order:
                    svc, clock = services[name]
                    runs[name].append(await sweep_once(svc, clock, round_no, args.due))
        finally:
            for svc, _ in services.values():
                await svc.db.dispose()
        results = {name: check(paths[name], sizes[name], args.due, args.repeat) for name in sizes}

    print(f"timed:    one sweep() per database per round, {args.due} due steps each, alternating")
    print(f"  {'':<28} {'open steps':>10} {'best s':>8} {'steps/s':>9}  all runs s")
    for name, total in sizes.items():
        best = min(runs[name])
        shown = " ".join(f"{s:.3f}" for s in runs[name])
        label = f"{name}: {args.due} due among"
        print(f"  {label:<28} {total:>10,} {best:>8.3f} {args.due / best:>9.0f}  {shown}")
    ratio = min(runs["big"]) / min(runs["small"])
    growth = args.open / args.small
    print(f"ratio big/small (best sweep time): {ratio:.2f}  (open steps grew {growth:,.0f}x)")
    ok = all(good for good, _ in results.values())
    for name, (good, summary) in results.items():
        print(f"check:    {name}: {summary}: {'ok' if good else 'WRONG'}")
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sweep",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--open", type=int, default=100_000, help="open steps, big database")
    parser.add_argument("--small", type=int, default=1000, help="open steps, small database")
    parser.add_argument("--due", type=int, default=100, help="due steps per round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (timed sweeps each)")
    args = parser.parse_args(argv)
    if min(args.open, args.small, args.due, args.repeat) < 1:
        parser.error("every count must be >= 1")
    if args.due * args.repeat > min(args.open, args.small):
        parser.error("--due x --repeat must fit in the smaller database")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())

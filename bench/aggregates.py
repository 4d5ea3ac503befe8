"""Split-purchase aggregates: their cost should follow the window, not the history.

    python -m bench.aggregates [--sizes 1000,10000,100000] [--recent 500] [--calls 300]

SQLite databases, migrated, each with a history of N cases (bulk-inserted with sqlite3,
untimed) of which the same `--recent` were filed in the last 7 days; the rest are spread over
the years before. Cases belong to 50 requesters and 200 suppliers. Then, alternating between
the databases in one run, `storage.aggregates.totals_for` computes the bundled policy's
`same_supplier_7d` aggregate (the query every filing runs) for `--calls` requests each. The
figure is the ratio of the median call time of each size to the smallest one's: it should
stay near 1. The run checks each answer against a count done in Python over the same rows,
and prints the plan SQLite chose.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench._common import command, machine_lines
from policy.loader import load_policy
from policy.model import Policy
from storage.aggregates import totals_for
from storage.database import Database
from storage.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
POLICY_FILE = REPO / "policy" / "examples" / "acme.yaml"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WINDOW = timedelta(days=7)
REQUESTERS = [f"person-{i}" for i in range(50)]
SUPPLIERS = [f"SUP-{i}" for i in range(200)]


def stamp(moment: datetime) -> str:
    """A time as SQLAlchemy stores it in SQLite (naive UTC text), so comparisons agree."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def history(total: int, recent: int, seed: int) -> list[tuple[int, str, str, float, str]]:
    """(id, requester, supplier id, amount, filed at) of `total` cases, `recent` of them in
    the window, oldest first."""
    rng = random.Random(seed)
    rows = []
    for n in range(1, total + 1):
        if n > total - recent:
            filed = NOW - WINDOW * rng.random()
        else:
            filed = NOW - WINDOW - timedelta(days=rng.uniform(1, 3 * 365))
        rows.append(
            (
                n,
                rng.choice(REQUESTERS),
                rng.choice(SUPPLIERS),
                float(rng.randint(1, 50)) * 100,
                stamp(filed),
            )
        )
    return rows


def populate(path: Path, policy: Policy, rows: list[tuple[int, str, str, float, str]]) -> None:
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO cases (id, status, code, title, requester, amount, currency, request,"
            " outcome, rules, skipped_rules, flags, rationale_required, policy_version,"
            " request_hash, created_at, updated_at, version) VALUES (?1, 'pending',"
            " 'OFF_CONTRACT', 'Case', ?2, ?4, 'EUR', ?6, 'route', '[]', '[]', '[]', 0, ?7,"
            " 'hash', ?5, ?5, 1)",
            [
                (
                    n,
                    who,
                    supplier,
                    amount,
                    filed,
                    json.dumps({"requester": who, "supplier": {"id": supplier}, "currency": "EUR"}),
                    policy.version,
                )
                for n, who, supplier, amount, filed in rows
            ],
        )
        db.execute("ANALYZE")
    db.close()


def expected(rows: list[tuple[int, str, str, float, str]], who: str, supplier: str) -> float:
    since = stamp(NOW - WINDOW)
    return sum(a for _, w, s, a, filed in rows if (w, s) == (who, supplier) and filed >= since)


def plan(path: Path) -> str:
    query = (
        "SELECT id, amount FROM cases WHERE created_at >= ? AND created_at <= ? AND status "
        "NOT IN ('withdrawn', 'rejected') AND requester = ? AND "
        "json_extract(request, '$.supplier.id') = ? AND currency = ?"
    )
    args = (stamp(NOW - WINDOW), stamp(NOW), REQUESTERS[0], SUPPLIERS[0], "EUR")
    with sqlite3.connect(path) as db:
        found = " / ".join(str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {query}", args))
    db.close()
    return found


async def main_async(args: argparse.Namespace) -> int:
    print("bench.aggregates: the split-purchase aggregate over histories of growing size")
    print(f"command:  {command('bench.aggregates')}")
    for line in machine_lines():
        print(line)
    policy = load_policy(POLICY_FILE)
    sizes = [int(size) for size in args.sizes.split(",")]
    rng = random.Random(7)
    asks = [(rng.choice(REQUESTERS), rng.choice(SUPPLIERS)) for _ in range(args.calls)]
    timings: dict[int, list[float]] = {size: [] for size in sizes}
    wrong = 0
    with tempfile.TemporaryDirectory(prefix="bench-aggregates-") as tmp:
        databases: dict[int, tuple[Database, list[tuple[int, str, str, float, str]]]] = {}
        started = time.perf_counter()
        try:
            for size in sizes:
                path = Path(tmp) / f"{size}.db"
                db = Database.from_url(f"sqlite+aiosqlite:///{path}")
                await upgrade(db)
                rows = history(size, args.recent, seed=size)
                populate(path, policy, rows)
                databases[size] = (db, rows)
            print(
                f"data:     {', '.join(f'{s:,}' for s in sizes)} cases, {args.recent} of each in "
                f"the last 7 days; bulk-inserted in {time.perf_counter() - started:.1f} s (untimed)"
            )
            print(f"plan:     {plan(Path(tmp) / f'{sizes[-1]}.db')} (the query, as SQL)")
            for i, (who, supplier) in enumerate(asks):
                order = sizes if i % 2 == 0 else list(reversed(sizes))
                request = {"requester": who, "supplier": {"id": supplier}, "currency": "EUR"}
                for size in order:
                    db, rows = databases[size]
                    begun = time.perf_counter()
                    async with db.reading() as conn:
                        totals = await totals_for(conn, policy, request, NOW)
                    timings[size].append(time.perf_counter() - begun)
                    got = totals["same_supplier_7d"].amount
                    wrong += abs(got - expected(rows, who, supplier)) > 1e-6
        finally:
            for db, _ in databases.values():
                await db.dispose()
    print(f"timed:    {args.calls} totals_for() calls per database, alternating")
    base = statistics.median(timings[sizes[0]])
    print(f"  {'cases':>9} {'median ms':>10} {'p90 ms':>8} {'ratio to smallest':>18}")
    for size in sizes:
        ordered = sorted(timings[size])
        median, p90 = statistics.median(ordered), ordered[int(0.9 * (len(ordered) - 1))]
        print(f"  {size:>9,} {median * 1000:>10.3f} {p90 * 1000:>8.3f} {median / base:>18.2f}")
    print(f"check:    {len(asks) * len(sizes) - wrong} of {len(asks) * len(sizes)} answers right")
    return 0 if wrong == 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.aggregates",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", default="1000,10000,100000", help="history sizes, ascending")
    parser.add_argument("--recent", type=int, default=500, help="cases in the last 7 days")
    parser.add_argument("--calls", type=int, default=300, help="timed calls per database")
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())

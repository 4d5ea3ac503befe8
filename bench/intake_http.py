"""HTTP intake under concurrent load on SQLite: a real `approvals serve`, many ERP clients.

    python -m bench.intake_http [--count 10000] [--concurrency 20] [--baseline 300]

One `approvals serve` process (no chat platform; the outbox keeps the cards) on a fresh SQLite
file with policy/examples/acme.yaml. This process plays the ERP: first `--baseline` filings
from one client at a time (what a filing costs with nobody queued), then `--count` filings
from `--concurrency` clients at once, each request a distinct event (bench.intake_workload's
requests, distinct external ids, filed for the policy's 20 people in turn). Per request: the
time from just before it is written to the whole answer. Reports the status codes (any 5xx,
or a request with no answer, is a failure), p50/p99/max, throughput, and the p99 ratio of the
loaded run to the baseline; then verifies the audit chain and counts the cases, which must
equal the 201s.

Goal (the SQLite writer thread, storage.writer): zero 5xx in 10,000 requests at concurrency
20, p99 under 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench._common import command, machine_lines, percentile
from bench.http_load import LoadResult, cpu_seconds, load, serving
from bench.intake_workload import raw_request
from policy.loader import load_policy
from storage import audit
from storage.database import Database

REPO = Path(__file__).resolve().parent.parent
POLICY = REPO / "policy" / "examples" / "acme.yaml"
TOKEN = "bench-intake-http"


def requests_by_everyone(policy_file: Path) -> Callable[[int], dict[str, Any]]:
    """bench.intake_workload's request i, filed for the policy's people in turn (as a
    company's ERP files for many requesters), so each aggregate over a requester's recent
    cases counts that requester's."""
    people = sorted(load_policy(policy_file).people)

    def request(i: int) -> dict[str, Any]:
        body = raw_request(i)
        body["requester"] = people[i % len(people)]
        return body

    return request


def line(name: str, result: LoadResult) -> str:
    ordered = sorted(result.latencies)
    rate = len(ordered) / result.wall if result.wall else 0.0
    return (
        f"  {name:<10} {len(ordered):>7} {rate:>9.1f} {percentile(ordered, 0.5) * 1000:>8.1f} "
        f"{percentile(ordered, 0.99) * 1000:>8.1f} {ordered[-1] * 1000:>8.1f} "
        f"{result.server_errors:>6}"
    )


async def verify(path: Path) -> audit.VerifyResult:
    db = Database.from_url(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.reading() as conn:
            return await audit.verify(conn)
    finally:
        await db.dispose()


async def run(args: argparse.Namespace, workdir: Path) -> int:
    path = workdir / "intake.db"
    env = {
        "APPROVALS_DATABASE_URL": f"sqlite+aiosqlite:///{path}",
        "APPROVALS_POLICY_FILE": str(POLICY),
        "APPROVALS_API_TOKEN": TOKEN,
        "APPROVALS_SWEEP_SECONDS": "3600",
        "APPROVALS_LOG_LEVEL": "WARNING",
    }
    with serving(env, workdir / "serve.log") as (base, process):
        before = cpu_seconds(process.pid)
        body = requests_by_everyone(POLICY)
        baseline = await load([base], TOKEN, body, args.baseline, 1)
        loaded = await load([base], TOKEN, body, args.count, args.concurrency, args.baseline)
        used = cpu_seconds(process.pid) - before
    heads = ("requests", "per s", "p50 ms", "p99 ms", "max ms", "5xx")
    print(
        f"  {'':<10} "
        + " ".join(f"{h:>{w}}" for h, w in zip(heads, (7, 9, 8, 8, 8, 6), strict=True))
    )
    print(line("1 client", baseline))
    print(line(f"{args.concurrency} clients", loaded))
    filings = args.baseline + args.count
    print(f"serve CPU: {used:.1f} s, {used / filings * 1000:.2f} ms a filing")
    ratio = percentile(sorted(loaded.latencies), 0.99) / percentile(
        sorted(baseline.latencies), 0.99
    )
    print(f"p99 {args.concurrency} clients / 1 client: {ratio:.1f}")
    for said, n in (baseline.errors + loaded.errors).most_common(5):
        print(f"failure x{n}: {said}")
    statuses = baseline.statuses + loaded.statuses
    print("statuses: " + ", ".join(f"{s or 'no answer'} x{n}" for s, n in sorted(statuses.items())))
    chain = await verify(path)
    with sqlite3.connect(path) as conn:
        stored = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    print(
        f"check:    audit chain verifies: {chain.ok} ({chain.count} events); cases stored "
        f"{stored}, 201s {statuses[201]}"
    )
    p99 = percentile(sorted(loaded.latencies), 0.99)
    met = loaded.server_errors == 0 and p99 < 0.5 and chain.ok and stored == statuses[201]
    print(f"goal (zero 5xx, p99 < 0.5 s, every 201 stored once): {'met' if met else 'NOT met'}")
    return 0 if chain.ok and stored == statuses[201] else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.intake_http", description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--baseline", type=int, default=300)
    args = parser.parse_args(argv)
    if args.count < 1 or args.concurrency < 1 or args.baseline < 1:
        parser.error("need --count, --concurrency and --baseline >= 1")
    print("bench.intake_http: the intake API of one `approvals serve` on SQLite under load")
    print(f"command:  {command('bench.intake_http')}")
    for text in machine_lines():
        print(text)
    with tempfile.TemporaryDirectory(prefix="bench-intake-http-") as tmp:
        return asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())

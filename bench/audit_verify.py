"""Audit verification speed: `storage.audit.verify` and the whole `approvals audit verify`, next
to plain hashlib over the same bytes.

    python -m bench.audit_verify [--events 100000] [--batch 5000] [--repeat 3]
                                 [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Builds a log shaped like the product's in a migrated SQLite file in a temp dir (and, with
--postgres, in a fresh database on that server, dropped afterwards): seven events per case in
the three transactions a case's life takes (filing, first approval, second approval; each its
own time), and each case's row, its request bound by `case.filed` as filing binds it. Rows are
built as `storage.audit.append` builds them (`storage.audit.row_hash`) and inserted in bulk,
about --batch events per transaction: append's head read and write per case transaction would
make the build take minutes. The build is timed apart, not part of the figures.

Then, best of --repeat runs each: `storage.audit.verify` (the chain and its head),
`storage.audit_content.verify_contents` alone (the cases against their records, reading the
`case.filed` events itself), and the whole of `approvals audit verify --checkpoint FILE`
(`bot.audit_commands.verify_command`, output captured: chain and head, the contents from the
chain's own pass, the checkpoint). Next to them, a loop of `hashlib.sha256(prev + body)` over
the very bodies verify hashes (read back from the SQLite file and canonicalized beforehand,
untimed); it must arrive at the head hash stored on each database: the benchmark checks that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import delete, insert
from sqlalchemy.engine import make_url

from bench._common import command, machine_lines
from bot.audit_commands import verify_command
from policy.lifecycle import AuditKind, case_ref
from storage import audit
from storage.audit import GENESIS_HASH, AuditEvent, canonical_json, format_time
from storage.audit_checkpoint import current
from storage.audit_content import verify_contents
from storage.database import Database
from storage.migrate import upgrade
from storage.tables import audit_events, audit_head, cases

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY_VERSION = hashlib.sha256(b"bench policy").hexdigest()
EVENTS_PER_CASE = 7
STEP = timedelta(seconds=41, microseconds=123_457)  # between one transaction and the next


def request_of(case: int) -> dict[str, Any]:
    """A normalized request, as filing stores it (and records it in `case.filed`)."""
    return {
        "code": "OFF-CONTRACT",
        "title": f"Laptops for the Zürich office, batch {case}",
        "requester": "priya",
        "amount": 12_500.0 + case,
        "currency": "EUR",
        "supplier": {"name": "Acme GmbH", "id": f"S-{case % 97:04d}", "risk_score": 40},
        "justification": "Framework supplier out of stock; quote attached, within budget.",
        "cost_center": f"CC-{case % 13:03d}",
        "source": "erp",
        "external_id": f"PO-{case:08d}",
    }


def case_events(case: int, request: dict[str, Any]) -> list[list[AuditEvent]]:
    """The life of one routed case in its three transactions: filed, approved, approved."""
    ref, step, version = case_ref(case), 2 * case, POLICY_VERSION
    route = [
        {"tier": "category-lead", "approvers": ["lee", "sam"]},
        {"tier": "finance-director", "approvers": ["dana"]},
    ]
    digest = hashlib.sha256(canonical_json(request).encode()).hexdigest()
    filed = {"requester": "priya", "request": request, "request_hash": digest}
    evaluated = {"outcome": "route", "fired": ["high-value"], "flags": ["high-value"]}
    policy = "system:policy"

    def system(kind: AuditKind, step_id: int | None, data: dict[str, Any]) -> AuditEvent:
        return AuditEvent(policy, kind, ref, step_id, policy_version=version, data=data)

    def vote(who: str, step_id: int, why: str, platform: str, tier: str) -> AuditEvent:
        data = {"tier": tier, "case_hash": digest}
        return AuditEvent(
            who, AuditKind.DECISION_APPROVED, ref, step_id, why, version, platform, data
        )

    return [
        [
            AuditEvent(
                "system:intake:erp", AuditKind.CASE_FILED, ref, None, None, version, "api", filed
            ),
            system(AuditKind.POLICY_EVALUATED, None, {**evaluated, "route": route}),
            system(AuditKind.STEP_OPENED, step - 1, route[0]),
        ],
        [
            vote(
                ("lee", "sam")[case % 2],
                step - 1,
                f"Quote {case} checked against the framework price list.",
                "slack",
                "category-lead",
            ),
            system(AuditKind.STEP_OPENED, step, route[1]),
        ],
        [
            vote(
                "dana",
                step,
                "Approved: supplier onboarding started, contract within 30 days.",
                "teams",
                "finance-director",
            ),
            system(AuditKind.CASE_APPROVED, None, {"case_hash": digest}),
        ],
    ]


def case_row(case: int, request: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "id": case,
        "status": "approved",
        "code": request["code"],
        "title": request["title"],
        "requester": request["requester"],
        "amount": request["amount"],
        "currency": request["currency"],
        "request": request,
        "outcome": "route",
        "rules": [{"id": "high-value", "policy_ref": "PROC-2.1"}],
        "skipped_rules": [],
        "flags": ["high-value"],
        "rationale_required": True,
        "policy_version": POLICY_VERSION,
        "source": request["source"],
        "external_id": request["external_id"],
        "request_hash": hashlib.sha256(canonical_json(request).encode()).hexdigest(),
        "created_at": at,
        "updated_at": at,
        "version": 3,
    }


async def build(db: Database, events: int, batch: int) -> None:
    """`events` events (the last case's cut short) and their cases, ~`batch` events per
    write transaction, inserted in bulk (append's head read and write per case transaction
    would make the build take minutes)."""
    case, seq, prev, moment = 0, 0, GENESIS_HASH, START
    while seq < events:
        case_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        while seq < events and len(event_rows) < batch:
            case += 1
            request = request_of(case)
            case_rows.append(case_row(case, request, moment))
            for group in case_events(case, request):  # each group: one transaction's time
                for event in group[: events - seq]:
                    seq += 1
                    event_rows.append(audit.chained_row(seq, prev, event, moment))
                    prev = event_rows[-1]["hash"]
                moment += STEP
        async with db.transaction() as conn:
            await conn.execute(insert(cases), case_rows)
            await conn.execute(insert(audit_events), event_rows)
            await conn.execute(delete(audit_head))
            await conn.execute(insert(audit_head).values(id=1, seq=seq, hash=prev))


def canonical_bodies(path: Path) -> tuple[list[bytes], str]:
    """Every event's hashed body, built as storage.audit.event_hash builds it; the head hash."""
    bodies: list[bytes] = []
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows: Any = db.execute(
            "SELECT seq, at, actor, action, case_ref, step_id, rationale, policy_version,"
            " platform, data FROM audit_events ORDER BY seq"
        )
        for seq, at, actor, action, ref, step, rationale, version, platform, data in rows:
            moment = datetime.fromisoformat(at).replace(tzinfo=UTC)
            body = {
                "seq": seq,
                "at": format_time(moment),
                "actor": actor,
                "action": action,
                "case": ref,
                "step": step,
                "rationale": rationale,
                "policy_version": version,
                "platform": platform,
                "data": data,
            }
            bodies.append(canonical_json(body).encode("utf-8"))
        head = db.execute("SELECT hash FROM audit_head WHERE id = 1").fetchone()[0]
    return bodies, str(head)


def hash_chain(bodies: list[bytes]) -> str:
    """What verify must do at least: SHA-256 over prev_hash + body, event after event."""
    sha256 = hashlib.sha256
    prev = GENESIS_HASH
    for body in bodies:
        prev = sha256(prev.encode("ascii") + body).hexdigest()
    return prev


async def best(repeat: int, run: Callable[[], Awaitable[bool]]) -> list[float]:
    """Seconds of each of `repeat` runs; every run must say it found the log intact."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        if not await run():
            raise SystemExit("check:    VERIFICATION FAILED on an untouched log")
        runs.append(time.perf_counter() - started)
    return runs


async def measure(db: Database, repeat: int, checkpoint: Path) -> dict[str, list[float]]:
    """The timed runs on one database: the chain, the contents, the whole command."""
    async with db.reading() as conn:
        head = (await current(conn)).to_json()
    await asyncio.to_thread(checkpoint.write_text, head, encoding="utf-8")

    async def chain() -> bool:
        async with db.reading() as conn:
            return (await audit.verify(conn)).ok

    async def contents() -> bool:
        async with db.reading() as conn:
            return (await verify_contents(conn)).ok

    async def whole() -> bool:
        with contextlib.redirect_stdout(io.StringIO()):
            return await verify_command(db, checkpoint) == 0

    return {
        "storage.audit.verify (chain, head)": await best(repeat, chain),
        "verify_contents alone (own scan)": await best(repeat, contents),
        "approvals audit verify --checkpoint F": await best(repeat, whole),
    }


async def head_hash(db: Database) -> str:
    async with db.reading() as conn:
        return (await current(conn)).hash


async def on_engine(
    url: str, args: argparse.Namespace, tmp: Path
) -> tuple[dict[str, list[float]], str]:
    db = Database.from_url(url)
    try:
        await upgrade(db)
        started = time.perf_counter()
        await build(db, args.events, args.batch)
        built = time.perf_counter() - started
        print(
            f"build:    {db.engine.dialect.name}: {built:.2f} s,"
            f" {args.events / built:,.0f} events/s"
        )
        return await measure(db, args.repeat, tmp / "checkpoint.json"), await head_hash(db)
    finally:
        await db.dispose()


@contextlib.asynccontextmanager
async def postgres_database(server: str) -> Any:
    """A fresh database on the server `server` names; dropped afterwards."""
    name = f"bench_audit_{uuid.uuid4().hex[:12]}"
    dsn = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def report(engine: str, timings: dict[str, list[float]], n: int, hashing: float) -> None:
    print(f"{engine}: best of {len(next(iter(timings.values())))} runs each")
    print(f"  {'':<38} {'events/s':>11} {'best s':>7} {'x hashlib':>9}  all runs s")
    for label, runs in timings.items():
        low = min(runs)
        spread = " ".join(f"{s:.3f}" for s in runs)
        print(f"  {label:<38} {n / low:>11,.0f} {low:>7.3f} {hashing / low:>9.3f}  {spread}")


async def main_async(args: argparse.Namespace) -> int:
    print("bench.audit_verify: `approvals audit verify` next to plain hashlib over the same bytes")
    print(f"command:  {command('bench.audit_verify')}")
    for line in machine_lines():
        print(line)
    n = args.events
    print(
        f"log:      {n:,} events, {EVENTS_PER_CASE} per case in 3 transactions of their own"
        f" time, ~{args.batch} events per build transaction (build not part of the figures)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        path = Path(tmp) / "audit.db"
        results = {"SQLite": await on_engine(f"sqlite+aiosqlite:///{path}", args, Path(tmp))}
        if args.postgres:
            async with postgres_database(args.postgres) as url:
                results["PostgreSQL"] = await on_engine(url, args, Path(tmp))
        started = time.perf_counter()
        bodies, stored_head = canonical_bodies(path)
        prepared = time.perf_counter() - started
    hash_runs = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        final = hash_chain(bodies)
        hash_runs.append(time.perf_counter() - started)
    hashing = min(hash_runs)
    spread = " ".join(f"{s:.3f}" for s in hash_runs)
    print(f"hashlib:  sha256(prev + body) over the same {sum(map(len, bodies)) / 2**20:.1f} MiB:")
    print(f"          best {hashing:.3f} s, {n / hashing:,.0f} events/s (runs {spread})")
    for engine, (timings, _) in results.items():
        report(engine, timings, n, hashing)
    best_verify = min(results["SQLite"][0]["storage.audit.verify (chain, head)"])
    print(f"ratio verify/hashlib (events/s), SQLite: {hashing / best_verify:.3f}")
    print(
        "context:  reading the rows with plain sqlite3 + building the canonical bodies"
        f" (untimed above): {prepared:.2f} s, {n / prepared:,.0f} events/s"
    )
    same = all(head == final == stored_head for _, head in results.values())
    print(
        "check:    verify ok; the hashlib loop ends at every stored head hash:"
        f" {'yes' if same else 'NO'}"
    )
    return 0 if same else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.audit_verify",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=100_000, help="events in the log")
    parser.add_argument("--batch", type=int, default=5000, help="events per build transaction")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each")
    parser.add_argument("--postgres", metavar="URL", help="also on a fresh database there")
    args = parser.parse_args(argv)
    if args.events < 1 or args.batch < 1 or args.repeat < 1:
        parser.error("--events, --batch and --repeat must be >= 1")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())

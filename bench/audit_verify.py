"""Audit verification speed: `storage.audit.verify` next to plain hashlib over the same bytes.

    python -m bench.audit_verify [--events 100000] [--batch 5000] [--repeat 3]

Builds a hash-chained audit log in a migrated SQLite file in a temp dir, appending with
`storage.audit.append` (real chained hashes) in batches, one transaction per batch; the build
is timed on its own and is not part of the figures. Then it times `storage.audit.verify` over
the whole log, and, in the same run, a loop of `hashlib.sha256(prev + body)` over the very
bodies verify hashes (read back from the file and canonicalized beforehand, untimed). The
loop must arrive at the head hash stored by append: the benchmark checks that.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._common import command, machine_lines
from policy.lifecycle import AuditKind
from storage import audit
from storage.audit import GENESIS_HASH, AuditEvent, canonical_json, format_time
from storage.database import Database
from storage.migrate import upgrade

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY_VERSION = hashlib.sha256(b"bench policy").hexdigest()
APPEND_CHUNK = 1000  # events per storage.audit.append call (each call gets its own time)


def case_events(case: int) -> list[AuditEvent]:
    """The life of one routed case: filed, evaluated, two steps approved, closed."""
    ref = f"EXC-{case:06d}"
    step = 2 * case
    lead, director = ("lee", "sam")[case % 2], "dana"
    route = [
        {"tier": "category-lead", "approvers": ["lee", "sam"]},
        {"tier": "finance-director", "approvers": ["dana"]},
    ]
    version = POLICY_VERSION
    return [
        AuditEvent(
            "system:intake:erp",
            AuditKind.CASE_FILED,
            ref,
            None,
            None,
            version,
            "api",
            {"requester": "priya"},
        ),
        AuditEvent(
            "system:policy",
            AuditKind.POLICY_EVALUATED,
            ref,
            policy_version=version,
            data={
                "outcome": "route",
                "fired": ["high-value", "off-contract"],
                "skipped": [],
                "flags": ["high-value", "off-contract"],
                "route": route,
            },
        ),
        AuditEvent(
            "system:policy",
            AuditKind.STEP_OPENED,
            ref,
            step - 1,
            policy_version=version,
            data=route[0],
        ),
        AuditEvent(
            lead,
            AuditKind.DECISION_APPROVED,
            ref,
            step - 1,
            f"Quote {case} checked against the framework price list; within budget.",
            version,
            "slack",
            {"tier": "category-lead", "on_behalf_of": None},
        ),
        AuditEvent(
            "system:policy", AuditKind.STEP_OPENED, ref, step, policy_version=version, data=route[1]
        ),
        AuditEvent(
            director,
            AuditKind.DECISION_APPROVED,
            ref,
            step,
            "Approved: supplier onboarding started, contract to follow within 30 days.",
            version,
            "teams",
            {"tier": "finance-director", "on_behalf_of": None},
        ),
        AuditEvent("system:policy", AuditKind.CASE_APPROVED, ref, policy_version=version),
    ]


def event_stream(count: int) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    case = 0
    while len(events) < count:
        case += 1
        events += case_events(case)
    return events[:count]


async def build(db: Database, events: list[AuditEvent], batch: int) -> None:
    """Append `events` in transactions of `batch` events, APPEND_CHUNK events per append."""
    chunk_no = 0
    for first in range(0, len(events), batch):
        async with db.transaction() as conn:
            for start in range(first, min(first + batch, len(events)), APPEND_CHUNK):
                chunk = events[start : min(start + APPEND_CHUNK, first + batch, len(events))]
                await audit.append(conn, chunk, START + timedelta(seconds=7 * chunk_no))
                chunk_no += 1


async def timed_verify(db: Database) -> tuple[float, audit.VerifyResult]:
    async with db.reading() as conn:
        started = time.perf_counter()
        result = await audit.verify(conn)
        return time.perf_counter() - started, result


def canonical_bodies(path: Path) -> tuple[list[bytes], str]:
    """Every event's hashed body, built as storage.audit.event_hash builds it; the head hash."""
    bodies: list[bytes] = []
    with sqlite3.connect(path) as db:
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
    db.close()
    return bodies, str(head)


def hash_chain(bodies: list[bytes]) -> str:
    """What verify must do at least: SHA-256 over prev_hash + body, event after event."""
    sha256 = hashlib.sha256
    prev = GENESIS_HASH
    for body in bodies:
        prev = sha256(prev.encode("ascii") + body).hexdigest()
    return prev


def on_disk(path: Path) -> int:
    """Bytes of the database file and its WAL, if any."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f}"


async def main_async(args: argparse.Namespace) -> int:
    print("bench.audit_verify: storage.audit.verify next to plain hashlib over the same bytes")
    print(f"command:  {command('bench.audit_verify')}")
    for line in machine_lines():
        print(line)
    events = event_stream(args.events)
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        path = Path(tmp) / "audit.db"
        db = Database.from_url(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(db)
            started = time.perf_counter()
            await build(db, events, args.batch)
            built = time.perf_counter() - started
            size = on_disk(path)
            print(
                f"log:      {len(events):,} events ({size / 2**20:.1f} MiB with WAL) in a"
                f" migrated SQLite file under {tempfile.gettempdir()}"
            )
            print(
                f"build:    {built:.2f} s, {len(events) / built:,.0f} events/s via"
                f" storage.audit.append, {args.batch} events per transaction,"
            )
            print(f"          {APPEND_CHUNK} per call (not part of the figures below)")
            verify_runs = []
            result = audit.VerifyResult(0)
            for _ in range(args.repeat):
                seconds, result = await timed_verify(db)
                verify_runs.append(seconds)
                if not result.ok or result.count != len(events):
                    print(f"check:    VERIFY FAILED: {result}")
                    return 1
        finally:
            await db.dispose()

        started = time.perf_counter()
        bodies, head = canonical_bodies(path)
        prepared = time.perf_counter() - started
        hash_runs = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            final = hash_chain(bodies)
            hash_runs.append(time.perf_counter() - started)

    n = len(events)
    best_verify, best_hash = min(verify_runs), min(hash_runs)
    print(f"timed:    best of {args.repeat} runs each, same process, same log")
    print(f"  {'':<34} {'events/s':>12} {'best s':>8}  all runs s")
    runs = " ".join(f"{s:.3f}" for s in verify_runs)
    print(f"  {'storage.audit.verify':<34} {rate(n, best_verify)} {best_verify:>8.3f}  {runs}")
    runs = " ".join(f"{s:.3f}" for s in hash_runs)
    label = "hashlib.sha256(prev + body) loop"
    print(f"  {label:<34} {rate(n, best_hash)} {best_hash:>8.3f}  {runs}")
    print(f"ratio verify/hashlib (events/s): {best_hash / best_verify:.3f}")
    print(
        "context:  reading the rows with plain sqlite3 + building the canonical bodies"
        f" (untimed above):\n          {prepared:.2f} s, {n / prepared:,.0f} events/s"
    )
    same = final == head
    print(
        f"check:    verify ok with {result.count:,} events; the hashlib loop ends at the"
        f" stored head hash: {'yes' if same else 'NO'}"
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
    args = parser.parse_args(argv)
    if args.events < 1 or args.batch < 1 or args.repeat < 1:
        parser.error("--events, --batch and --repeat must be >= 1")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())

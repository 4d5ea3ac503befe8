"""Policy backtest: `approvals policy backtest` over many past cases, next to its floors.

    python -m bench.backtest [--cases 10000] [--repeat 3]

One SQLite file, migrated, with `--cases` cases filed over 30 days (bulk-inserted with
sqlite3, untimed): requests of the bundled policy's codes with amounts from 100 to 400,000,
suppliers on and off contract with any risk score, some urgent, some with a budget, price
mismatches with a variance; stored as filing stores them (the model's JSON, the requester's
person id). The draft is the bundled policy with the high-value threshold raised from 25,000
to 50,000 and the code MISSING_ASN removed from its taxonomy, so both route changes and
"invalid" verdicts occur.

Timed, in the same run, alternating, best of `--repeat`:

- backtest: the whole command in-process, `main(["policy", "backtest", DRAFT, "--since", ...,
  "--format", "json"])`: both policies loaded, the database opened, the cases read, every
  request validated and evaluated under the current policy and the draft, the JSON written;
- floors: reading the same rows (`bot.backtest_command.read_cases`: the SELECT in one
  `db.reading()` snapshot), reading and validating them (`ExceptionRequest.model_validate`),
  and reading, validating and evaluating them with `policy.evaluate.evaluate` under the
  current policy only (x1: what filing spent on them) and under both policies (x2: the
  backtest written naively, one `evaluate` per request per policy).

The backtest's `policy.backtest.Evaluator` gives what `evaluate` gives (its tests check that)
for less: no explanations or staffing, each condition given only the fields it reads, each
condition the draft keeps run once. The goal is the backtest under 10 s for 10,000 cases on
two cores. The run checks the report against an independent count of the cases that must
change (and of those that must be invalid).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._common import command, machine_lines
from bot.backtest_command import read_cases
from bot.cli import main as approvals
from policy.evaluate import evaluate
from policy.loader import load_policy
from policy.model import Policy
from policy.request import ExceptionRequest
from storage.database import Database
from storage.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
POLICY_FILE = REPO / "policy" / "examples" / "acme.yaml"
NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=30)
DRAFT_EDITS = (
    ("when: amount > 25000.0", "when: amount > 50000.0"),
    (
        "  - code: MISSING_ASN\n"
        "    title: Goods arrived without an advance shipping notice\n"
        "    owner: sam\n"
        "    playbook: https://wiki.acme.example/playbooks/missing-asn\n",
        "",
    ),
)
CODES = (
    "OFF_CONTRACT",
    "HIGH_VALUE",
    "URGENT_REQUEST",
    "PRICE_MISMATCH",
    "QUANTITY_SHORTFALL",
    "LATE_CONFIRMATION",
    "MISSING_ASN",
    "INVOICE_DISCREPANCY",
)
REQUESTERS = ("priya", "omar", "lee", "sam")
ONE = "read, validate, evaluate() x1"
NAIVE = "read, validate, evaluate() x2"
WHOLE = "backtest (the whole command)"


def raw_request(i: int, rng: random.Random) -> dict[str, Any]:
    code = CODES[i % len(CODES)]
    request: dict[str, Any] = {
        "code": code,
        "title": f"Exception {i} for PO 45{i:08d}",
        "requester": REQUESTERS[i % len(REQUESTERS)],
        "amount": round(10 ** rng.uniform(2, 5.6), 2),
        "currency": "EUR",
        "supplier": {"id": f"SUP-{i % 300:04d}", "name": f"Supplier {i % 300}"},
        "category": ("IT hardware", "Facilities", "Logistics")[i % 3],
        "cost_center": f"CC-{4400 + i % 40}",
        "references": {"po": f"45{i:08d}"},
        "details": {"lines": 1 + i % 7},
    }
    if rng.random() < 0.8:
        request["supplier"]["risk_score"] = rng.randrange(100)
    if rng.random() < 0.9:
        request["supplier"]["on_contract"] = rng.random() < 0.6
    if rng.random() < 0.1:
        request["urgency"] = "critical"
    if rng.random() < 0.3:
        request["budget"] = {"remaining": round(10 ** rng.uniform(2, 5.8), 2)}
    if code == "PRICE_MISMATCH":
        request["details"]["variance_pct"] = round(rng.uniform(0, 5), 2)
    return request


def stored_requests(count: int) -> list[dict[str, Any]]:
    """The requests as filing stores them: validated, dumped as JSON, requester an id."""
    rng = random.Random(20261001)
    return [
        ExceptionRequest.model_validate(raw_request(i, rng)).model_dump(
            mode="json", exclude_none=True
        )
        for i in range(count)
    ]


def must_change(request: dict[str, Any]) -> bool:
    """Independently of the code under test: does the draft change this case?

    MISSING_ASN is not in the draft (invalid); an amount in (25,000, 50,000] no longer fires
    high-value: its route goes, and its flag, which a rejected case carries too."""
    amount = float(request["amount"])
    return request["code"] == "MISSING_ASN" or 25_000 < amount <= 50_000


def stamp(moment: datetime) -> str:
    """A time as SQLAlchemy stores it in SQLite (naive UTC text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def populate(path: Path, policy: Policy, requests: list[dict[str, Any]]) -> None:
    step = (NOW - SINCE) / (len(requests) + 1)
    rows = []
    for n, request in enumerate(requests, 1):
        at = stamp(SINCE + n * step)
        rows.append(
            (
                n,
                request["code"],
                request["title"],
                request["requester"],
                request["amount"],
                json.dumps(request),
                policy.version,
                f"hash-{n}",
                at,
            )
        )
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO cases (id, status, code, title, requester, amount, currency, request,"
            " outcome, rules, skipped_rules, flags, rationale_required, policy_version,"
            " request_hash, created_at, updated_at, version) VALUES (?1, 'pending', ?2, ?3,"
            " ?4, ?5, 'EUR', ?6, 'route', '[]', '[]', '[]', 0, ?7, ?8, ?9, ?9, 1)",
            rows,
        )
    db.close()


def run_backtest(draft: Path) -> str:
    """The command in-process, as a user runs it; its standard output."""
    out = io.StringIO()
    args = ["policy", "backtest", str(draft), "--since", SINCE.date().isoformat()]
    with contextlib.redirect_stdout(out):
        status = approvals([*args, "--format", "json"])
    if status != 0:
        raise SystemExit(f"approvals policy backtest exited {status}")
    return out.getvalue()


async def floor(url: str, policies: Sequence[Policy], parse: bool) -> int:
    """Read the cases as the command does; validate them; evaluate them under `policies`."""
    db = Database.from_url(url)
    try:
        past, _texts = await read_cases(db, SINCE)
    finally:
        await db.dispose()
    if parse or policies:
        for case in past:
            request = ExceptionRequest.model_validate(case.request)
            for policy in policies:
                if request.code in policy.taxonomy:
                    evaluate(request, policy)
    return len(past)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.backtest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--cases", type=int, default=10_000, help="past cases in the database")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (each run timed once)")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.repeat < 1:
        parser.error("--cases and --repeat must be >= 1")

    print("bench.backtest: `approvals policy backtest` over past cases, next to its floors")
    print(f"command:  {command('bench.backtest')}")
    for line in machine_lines():
        print(line)
    policy = load_policy(POLICY_FILE)
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        path, draft = Path(tmp) / "approvals.db", Path(tmp) / "draft.yaml"
        text = POLICY_FILE.read_text(encoding="utf-8")
        for old, new in DRAFT_EDITS:
            assert old in text, old
            text = text.replace(old, new)
        draft.write_text(text, encoding="utf-8")
        url = f"sqlite+aiosqlite:///{path}"
        os.environ["APPROVALS_DATABASE_URL"] = url
        os.environ["APPROVALS_POLICY_FILE"] = str(POLICY_FILE)

        started = time.perf_counter()
        requests = stored_requests(args.cases)
        db = Database.from_url(url)
        asyncio.run(upgrade(db))
        asyncio.run(db.dispose())
        populate(path, policy, requests)
        built = time.perf_counter() - started
        print(
            f"data:     one SQLite file under {tempfile.gettempdir()}, migrated, "
            f"{args.cases:,} cases filed over 30 days since {SINCE.date()};"
        )
        print(f"          bulk-inserted with sqlite3 in {built:.1f} s (untimed)")
        print("draft:    acme.yaml with high-value above 50,000 (not 25,000), MISSING_ASN removed")

        drafted = load_policy(draft)
        runs: dict[str, Callable[[], object]] = {
            "read rows": lambda: asyncio.run(floor(url, (), parse=False)),
            "read + validate": lambda: asyncio.run(floor(url, (), parse=True)),
            ONE: lambda: asyncio.run(floor(url, (policy,), parse=True)),
            NAIVE: lambda: asyncio.run(floor(url, (policy, drafted), parse=True)),
            WHOLE: lambda: run_backtest(draft),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        output = ""
        for round_no in range(args.repeat):
            order = list(runs) if round_no % 2 == 0 else list(reversed(runs))
            for name in order:
                started = time.perf_counter()
                result = runs[name]()
                times[name].append(time.perf_counter() - started)
                if isinstance(result, str):
                    output = result

    report = json.loads(output)
    expected = sum(must_change(r) for r in requests)
    invalid = sum(r["code"] == "MISSING_ASN" for r in requests)
    got_invalid = sum(c["after"]["outcome"] == "invalid" for c in report["changes"])

    print(f"timed:    each run once per round, {args.repeat} rounds, alternating; best of them")
    print(f"  {'':<30} {'best s':>8} {'cases/s':>9} {'us/case':>8}  all runs s")
    for name, seconds in times.items():
        shown = " ".join(f"{s:.3f}" for s in seconds)
        per = min(seconds) / args.cases
        print(f"  {name:<30} {min(seconds):>8.3f} {1 / per:>9.0f} {1e6 * per:>8.0f}  {shown}")
    floor_s, naive, whole = min(times[ONE]), min(times[NAIVE]), min(times[WHOLE])
    print(f"ratio backtest / (read + validate + evaluate() once): {whole / floor_s:.2f}")
    print(f"ratio backtest / (read + validate + evaluate() twice): {whole / naive:.2f}")
    goal = 10.0 * args.cases / 10_000
    print(f"goal:     backtest under {goal:.1f} s for {args.cases:,} cases: ", end="")
    print("met" if whole < goal else "MISSED")
    load = ", ".join(f"{t} {v['before']}->{v['after']}" for t, v in report["load"].items())
    print(f"report:   {report['cases']:,} cases, {report['changed']:,} changed ", end="")
    print(f"({got_invalid:,} invalid under the draft); load {load}")
    ok = (report["cases"], report["changed"], got_invalid) == (args.cases, expected, invalid)
    print(
        f"check:    expected {args.cases:,} cases, {expected:,} changed, {invalid:,} invalid: "
        f"{'ok' if ok else 'WRONG'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

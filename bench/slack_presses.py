"""Signed Slack button presses against the running server, next to a bare Bolt app.

    python -m bench.slack_presses [--presses 50] [--rounds 5] [--poll-ms 2]

Our side is the real server (`bot.serve.build_runtime`: the aiohttp app with Slack mounted, the
outbox delivery loop, the kept background tasks) on a migrated SQLite file with
tests/data/policy.yaml, served by an aiohttp AppRunner + TCPSite on a random 127.0.0.1 port.
The bare side is a Bolt AsyncApp with the same signing secret and Web API client, mounted on
aiohttp the same way (slack_bolt.adapter.aiohttp), whose only listener,
`app.action(re.compile("^exc_"))`, calls `await ack()`; it has a port of its own. Both run on
this process's one event loop, as `serve` does.

A child process (bench.slack_client) plays Slack: it hosts the fake Web API the bot talks to
(tests/slack/fake_slack_api.py) and sends the presses, so neither costs the server's loop.

Each round files N fresh cases of amount 500 (route: category-lead, lee or dana, any one; no
rationale needed to approve) through `handlers.filing.file_exception`, lets the outbox deliver
their cards, then sends one signed press per case, all at once, each on a fresh connection, in
three runs whose order rotates by round:
  ours      Approve, from the delivered cards, to our server: acked, then decided in the
            background (the cases are closed by it);
  ack-only  the same presses to our server with action id `exc_bench_ack_only`: acked by the
            same listener, whose background task drops the press at once (no database work),
            so ours/ack-only is the cost of the decisions and ack-only/bare that of our edge;
  bare      the same presses to the bare Bolt app.
Per press: the time to the whole HTTP 200 (the ack), from just before the request is written;
for ours also the time until the decision row is committed: a thread with its own sqlite3
connection polls `decisions` every few ms and stamps each new row with the start of the poll
that first saw it (late by at most one poll period, which is printed). Both processes take
time.perf_counter() (CLOCK_MONOTONIC on Linux, one clock for the machine). The figure is the
median over the rounds of p99 ack ours / p99 ack bare (p99 of 50 is the slowest press).

Before each run both processes collect garbage, and the child keeps its collector off while it
sends, so a full collection left over from earlier work lands in no run at random. For each run
the CPU time of the loop's thread (on a CPU, or waiting for one), of this process's other threads
(aiosqlite's workers) and of the child is read from /proc: where the ack window's time went.
The first round is a warm-up (connections, Bolt's auth.test, caches) and is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from sqlalchemy import func, select

from bench._common import command, machine_lines, percentile
from bench.slack_cpu import CpuAccount, CpuTimes
from bot.serve import Runtime, build_runtime
from bot.settings import load_settings
from bot.slack.setup import SLACK_EVENTS_PATH, web_client
from cards import actions
from handlers.clock import SystemClock
from handlers.commands import FileException
from handlers.context import Actor, Services
from handlers.filing import file_exception
from policy.loader import load_policy
from policy.request import ExceptionRequest
from storage import audit
from storage.database import Database
from storage.migrate import upgrade
from storage.tables import cases, decisions, outbox

REPO = Path(__file__).resolve().parent.parent
POLICY = REPO / "tests" / "data" / "policy.yaml"
SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-fake-bot-token"  # the token the fake Web API accepts
APPROVERS = ("U0LEE", "U0DANA")  # the category-lead tier of tests/data/policy.yaml
ACTOR = Actor.system("intake:erp", "api")
GOAL = 1.5  # p99 ack, ours over bare
WAIT_SECONDS = 30.0  # for commits, and for the outbox to drain; a round that takes longer fails


# --- the child process that plays Slack -----------------------------------------------------


class Slack:
    """bench.slack_client in a child process, spoken to in JSON lines."""

    def __init__(self, process: asyncio.subprocess.Process, api_url: str) -> None:
        self.process = process
        self.api_url = api_url

    @classmethod
    async def start(cls) -> Slack:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.slack_client",
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 24,
        )
        slack = cls(process, "")
        slack.api_url = str((await slack._read())["url"])
        return slack

    async def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), WAIT_SECONDS * 2)
        if not line:
            raise SystemExit("bench.slack_client ended early (see its error above)")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise SystemExit(f"bench.slack_client: {answer['error']}")
        return answer

    async def ask(self, **order: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(order) + "\n").encode())
        await self.process.stdin.drain()
        return await self._read()

    async def close(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(Exception):
                await self.ask(cmd="quit")
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


# --- seeing commits -------------------------------------------------------------------------


class CommitWatch:
    """A thread with its own sqlite3 connection that polls `decisions` and stamps each new row
    (by case) with time.perf_counter() at the start of the poll that first saw it."""

    def __init__(self, path: Path, period: float) -> None:
        self.path = path
        self.period = period
        self.seen: dict[int, float] = {}
        self.starts: list[float] = []  # (first, last) poll start, for the measured period
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="commit-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def measured_period(self) -> float:
        return (self.starts[1] - self.starts[0]) / max(1, self.polls - 1)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        last = 0
        try:
            while not self._stop.is_set():
                started = time.perf_counter()
                rows = conn.execute(
                    "SELECT id, case_id FROM decisions WHERE id > ? ORDER BY id", (last,)
                ).fetchall()
                for row_id, case_id in rows:
                    self.seen.setdefault(int(case_id), started)
                    last = int(row_id)
                self.starts = [self.starts[0] if self.starts else started, started]
                self.polls += 1
                self._stop.wait(self.period)
        finally:
            conn.close()

    async def wait_for(self, case_ids: Sequence[int]) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not all(case_id in self.seen for case_id in case_ids):
            if time.monotonic() > deadline:
                missing = sum(case_id not in self.seen for case_id in case_ids)
                raise SystemExit(f"{missing} decisions not committed within {WAIT_SECONDS} s")
            await asyncio.sleep(0.01)


# --- the two servers ------------------------------------------------------------------------


async def serve_on_loopback(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}{SLACK_EVENTS_PATH}"


def bare_bolt_app(api_url: str) -> web.Application:
    """A Bolt app that only acknowledges, mounted on aiohttp the way bot.slack.setup does."""
    settings = load_settings(
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api_url}
    )
    bolt = AsyncApp(client=web_client(settings), signing_secret=SECRET)

    @bolt.action(re.compile(r"^exc_"))
    async def on_button(ack: AsyncAck) -> None:
        await ack()

    async def handle(request: web.Request) -> web.Response:
        response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    http = web.Application()
    http.router.add_post(SLACK_EVENTS_PATH, handle)
    return http


@dataclass
class Ours:
    services: Services
    runtime: Runtime
    watch: CommitWatch
    filed: int = 0

    async def file(self, count: int) -> list[int]:
        ids = []
        for _ in range(count):
            self.filed += 1
            request = ExceptionRequest.model_validate(
                {
                    "code": "OFF_CONTRACT",
                    "title": f"Docking stations for the Lisbon office, batch {self.filed}",
                    "requester": "rita",
                    "amount": 500.0,
                    "currency": "EUR",
                    "source": "erp",
                    "external_id": f"BENCH-{self.filed:06d}",
                }
            )
            result = await file_exception(self.services, ACTOR, FileException(request))
            if result.case.rationale_required:
                raise SystemExit("the bench's cases must not need a rationale to approve")
            ids.append(result.case.id)
        self.runtime.delivery.wake()
        return ids

    async def settle(self) -> None:
        """No acknowledged work running and nothing due in the outbox."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            if not len(self.runtime.tasks):
                self.runtime.delivery.wake()
                async with self.services.db.reading() as conn:
                    waiting = await conn.scalar(
                        select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
                    )
                if not waiting and not len(self.runtime.tasks):
                    return
            if time.monotonic() > deadline:
                raise SystemExit(f"the outbox did not drain within {WAIT_SECONDS} s")
            await asyncio.sleep(0.02)


# --- rounds ---------------------------------------------------------------------------------


SIDES = ("ours", "ack-only", "bare")
# The order of the three runs in a round rotates, so that none always comes first.
ORDERS = (("ours", "ack-only", "bare"), ("bare", "ours", "ack-only"), ("ack-only", "bare", "ours"))
ACK_ONLY_ACTION = "exc_bench_ack_only"  # acked by our listener; button_pressed drops it at once


@dataclass
class Round:
    label: str
    first: str
    ack: dict[str, list[float]] = field(default_factory=lambda: {side: [] for side in SIDES})
    cpu: dict[str, CpuTimes] = field(default_factory=lambda: {side: CpuTimes() for side in SIDES})
    commit: list[float] = field(default_factory=list)

    def ratio(self, side: str) -> float:
        return p99(self.ack[side]) / p99(self.ack["bare"])


def p50(values: list[float]) -> float:
    return percentile(sorted(values), 0.5)


def p99(values: list[float]) -> float:
    return percentile(sorted(values), 0.99)


def ms(seconds: float) -> str:
    return f"{1000 * seconds:6.1f}"


async def press(
    slack: Slack, url: str, presses: list[list[str]], action_id: str = actions.APPROVE
) -> list[list[float]]:
    answer = await slack.ask(
        cmd="press", url=url, secret=SECRET, presses=presses, action_id=action_id
    )
    results: list[list[float]] = answer["results"]
    refused = [int(status) for _, _, status in results if int(status) != 200]
    if refused:
        raise SystemExit(f"{len(refused)} presses were not acknowledged with 200: {refused[:5]}")
    return results


@contextlib.contextmanager
def quiet(logger: str) -> Iterator[None]:
    """Silence a logger's warnings for a while (button_pressed warns of each dropped press)."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


async def run_round(
    label: str,
    index: int,
    count: int,
    ours: Ours,
    slack: Slack,
    urls: dict[str, str],
    cpu: CpuAccount,
) -> Round:
    case_ids = await ours.file(count)
    await ours.settle()  # the cards are delivered
    found = (await slack.ask(cmd="cards", users=list(APPROVERS)))["cards"]
    by_case: dict[tuple[int, str], list[str]] = {}
    for user, channel, ts, value in found:
        target = actions.parse_button_value(value)
        if target is not None:
            by_case[(target[0], user)] = [user, value, channel, ts]
    presses = [by_case[(case_id, APPROVERS[n % 2])] for n, case_id in enumerate(case_ids)]
    order = ORDERS[index % len(ORDERS)]
    result = Round(label, order[0])
    for side in order:
        gc.collect()  # no full collection left over from earlier work lands in this window
        cpu.start()
        if side == "ours":
            timings = await press(slack, urls["ours"], presses)
            result.cpu[side] = cpu.stop()
            await ours.watch.wait_for(case_ids)
            result.commit = [
                ours.watch.seen[case_id] - sent
                for case_id, (sent, _, _) in zip(case_ids, timings, strict=True)
            ]
            await ours.settle()  # the decisions' outbox work is done before the next run
        elif side == "ack-only":
            with quiet("bot.slack.interactions"):
                timings = await press(slack, urls["ours"], presses, ACK_ONLY_ACTION)
                result.cpu[side] = cpu.stop()
                await ours.settle()
        else:
            timings = await press(slack, urls["bare"], presses)
            result.cpu[side] = cpu.stop()
        result.ack[side] = [acked - sent for sent, acked, _ in timings]
    return result


async def checks(services: Services, slack: Slack, expected: int) -> str:
    async with services.db.reading() as conn:
        approved = await conn.scalar(
            select(func.count()).select_from(cases).where(cases.c.status == "approved")
        )
        decided = await conn.scalar(
            select(func.count()).select_from(decisions).where(decisions.c.action == "approve")
        )
        chain = await audit.verify(conn)
    called = (await slack.ask(cmd="calls"))["calls"]
    calls = sum(ok + failed for ok, failed in called.values())
    failed = {method: n[1] for method, n in called.items() if n[1]}
    ok = approved == decided == expected and chain.ok and not failed
    return (
        f"check:    {'ok' if ok else 'FAILED'}: {decided} approvals, {approved} cases approved "
        f"(of {expected}), audit chain ok: {chain.ok}, Web API calls failed: "
        f"{failed or 0} of {calls}"
    )


def report_rounds(rounds: list[Round]) -> list[str]:
    lines = [
        f"{'ack, ms:':>22}{'ours':>8}{'ack-only':>12}{'bare':>10}"
        f"{'p99 / bare p99':>18}{'commit, ms':>15}",
        f"round first   {'   p50   p99' * len(SIDES)}"
        f"{'ours':>8}{'ack-only':>10}{'p50':>9}{'p99':>7}",
    ]
    for r in rounds:
        acks = "".join(f"{ms(p50(r.ack[side]))}{ms(p99(r.ack[side]))}" for side in SIDES)
        lines.append(
            f"{r.label:<5} {r.first:<8}{acks}{r.ratio('ours'):8.2f}{r.ratio('ack-only'):10.2f}"
            f"{ms(p50(r.commit)):>9}{ms(p99(r.commit)):>7}"
        )
    return lines


def cpu_lines(rounds: list[Round]) -> list[str]:
    head = "cpu in the ack windows, ms:"
    lines = [
        f"{head:<27}{'wall':>7}{'loop thread on a CPU':>22}{'waiting for one':>17}"
        f"{'other threads':>15}{'Slack child':>13}"
    ]
    for side in SIDES:
        total = CpuTimes()
        for r in rounds:
            total.add(r.cpu[side])
        lines.append(
            f"  {side:<25}{ms(total.wall):>7}{ms(total.main_run):>22}{ms(total.main_wait):>17}"
            f"{ms(total.others_run):>15}{ms(total.child_run):>13}"
        )
    return lines


async def main_async(args: argparse.Namespace) -> int:
    clock = time.get_clock_info("perf_counter").implementation
    if "CLOCK_MONOTONIC" not in clock:
        raise SystemExit(f"needs a system-wide perf_counter (Linux); this one is {clock}")
    print(
        f"bench.slack_presses: {args.presses} concurrent signed Approve presses, our server "
        "next to a bare Bolt app"
    )
    print(f"command:  {command('bench.slack_presses')}")
    machine, software = machine_lines()
    print(machine)
    print(f"{software}, aiohttp {version('aiohttp')}, slack_bolt {version('slack_bolt')}")
    with tempfile.TemporaryDirectory(prefix="bench-slack-") as tmp:
        path = Path(tmp) / "approvals.db"
        db = Database.from_url(f"sqlite+aiosqlite:///{path}")
        await upgrade(db)
        services = Services(db, load_policy(POLICY), SystemClock())
        slack = await Slack.start()
        watch = CommitWatch(path, args.poll_ms / 1000)
        runners: list[web.AppRunner] = []
        runtime: Runtime | None = None
        try:
            settings = load_settings(
                {
                    "SLACK_BOT_TOKEN": BOT_TOKEN,
                    "SLACK_SIGNING_SECRET": SECRET,
                    "SLACK_API_URL": slack.api_url,
                }
            )
            runtime = build_runtime(services, settings)
            our_runner, our_url = await serve_on_loopback(runtime.app)
            runners.append(our_runner)
            await runtime.start()
            bare_runner, bare_url = await serve_on_loopback(bare_bolt_app(slack.api_url))
            runners.append(bare_runner)
            urls = {"ours": our_url, "bare": bare_url}
            cpu = CpuAccount(slack.process.pid)
            if not cpu.available:
                raise SystemExit("needs /proc/<pid>/task/<tid>/schedstat (Linux)")
            watch.start()
            ours = Ours(services, runtime, watch)
            started = time.perf_counter()
            rounds: list[Round] = []
            for index in range(args.rounds + 1):
                label = "warm" if index == 0 else str(index)
                rounds.append(await run_round(label, index, args.presses, ours, slack, urls, cpu))
            elapsed = time.perf_counter() - started
            expected = len(rounds) * args.presses
            check = await checks(services, slack, expected)
        finally:
            watch.stop()
            if runtime is not None:
                await runtime.stop()
            for runner in runners:
                await runner.cleanup()
            await slack.close()
            await db.dispose()

    counted = rounds[1:]
    period = watch.measured_period()
    policy = POLICY.relative_to(REPO)
    print("setup:    one event loop serves both apps, each on a 127.0.0.1 port; a child process")
    print("          plays Slack: the fake Web API, and the presses (at once, fresh connections)")
    print(f"series:   ours: Approve on {args.presses} new amount-500 cases a round ({policy}: lee")
    print("          or dana alone; cards delivered first); ack-only: the same to ours as")
    print(f"          {ACK_ONLY_ACTION} (acked, then dropped: no database work); bare: the same")
    print("          to a Bolt app that only acks; the order of the three rotates by round")
    slowest = f"p99 of {args.presses} = the slowest"
    print(f"ack:      client side, request written -> whole 200 ({slowest}); commit: the same")
    print(
        "          start -> decision row seen by a sqlite3 reader polling every "
        f"{args.poll_ms:g} ms ({1000 * period:.2f} ms apart)"
    )
    for line in report_rounds(counted):
        print(line)
    pooled = Round("all", f"{len(counted) * args.presses} each")
    for r in counted:
        for side in SIDES:
            pooled.ack[side] += r.ack[side]
        pooled.commit += r.commit
    print(report_rounds([pooled])[-1])
    ratio = statistics.median(r.ratio("ours") for r in counted)
    verdict = "meets" if ratio <= GOAL else "ABOVE"
    print(
        f"ratio p99 ack ours/bare: median of {len(counted)} rounds {ratio:.2f} ({verdict} the "
        f"goal <= {GOAL}); after 1 warm-up round, {elapsed:.0f} s in all"
    )
    for line in cpu_lines(counted):
        print(line)
    print(check)
    return 0 if check.startswith("check:    ok") else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.slack_presses",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--presses", type=int, default=50, help="concurrent presses per round")
    parser.add_argument("--rounds", type=int, default=5, help="counted rounds (after a warm-up)")
    parser.add_argument("--poll-ms", type=float, default=2.0, help="commit poll period, ms")
    args = parser.parse_args(argv)
    if args.presses < 1 or args.rounds < 1 or not 0.1 <= args.poll_ms <= 100:
        parser.error("need --presses >= 1, --rounds >= 1, 0.1 <= --poll-ms <= 100")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())

"""The local console, scripted through its standard input."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import TextIO, cast

from bot.console import ConsoleSession
from handlers.clock import ManualClock
from handlers.context import Services
from handlers.queries import case_details
from policy.loader import load_policy
from storage import audit
from storage.database import Database
from storage.records import CaseStatus
from tests.conftest import TEST_POLICY

OVERDUE = Path(__file__).parent.parent / "data" / "overdue.yaml"


async def run_console(services: Services, script: str) -> str:
    out = io.StringIO()
    code = await ConsoleSession(services, io.StringIO(script), out).run()
    assert code == 0
    return out.getvalue()


async def test_file_press_and_decide_in_the_console(services: Services) -> None:
    script = """\
as rita
/exception new OFF_CONTRACT "Laptops from a reseller" amount=30000 currency=EUR \
supplier.on_contract=false references.po=PO-1
as lee
1
Needed for the new hires
as maria
/approvals
7 Fits the budget
"""
    output = await run_console(services, script)
    assert "Filed EXC-000001 Laptops from a reseller: waiting for category-lead." in output
    assert "→ card for Lee Park (lee):" in output
    assert "[1] Approve  [2] Reject  [3] Request info" in output
    assert "  Supplier: unnamed supplier, OFF CONTRACT" in output
    assert "because amount > 25000.0 (amount = 30000.0)" in output
    assert "Policy requires a rationale to approve EXC-000001" in output
    assert "You approved EXC-000001. It moves on to finance-director (Maria Finance)." in output
    assert "↻ card updated for Dana Reyes (dana):" in output
    assert "You approved EXC-000001. The case is now approved." in output
    assert (
        "→ message for Rita Requester (rita): EXC-000001 (Laptops from a reseller) was approved"
        in output
    )
    assert output.rstrip().endswith("Bye.")

    details = await case_details(services, 1)
    assert details.case.status is CaseStatus.APPROVED
    assert [(d.person, d.rationale, d.platform) for d in details.decisions] == [
        ("lee", "Needed for the new hires", "console"),
        ("maria", "Fits the budget", "console"),
    ]
    async with services.db.reading() as conn:
        assert (await audit.verify(conn)).ok


async def test_refusals_and_bad_input_are_explained_and_change_nothing(services: Services) -> None:
    output = await run_console(
        services,
        """\
# comments and blank lines are skipped

as nobody-at-all
as rita
/exception new OFF_CONTRACT "Laptops" amount=300 currency=EUR
1
as carl
1
press 99
as lee
2

/exception new OFF_CONTRACT "x" colour=red
/exception new OFF_CONTRACT "x" amount=-5 currency=euro
/exception new OFF_CONTRACT "unbalanced quote
/exception status EXC-000777
/approvals approve not-a-case
frobnicate
""",
    )
    assert "Nobody called 'nobody-at-all' in the policy." in output
    assert "You filed this exception" in output  # rita pressing her own card
    assert "You are not an approver of this step." in output  # carl
    assert "There is no button [99]" in output
    assert "Cancelled: no rationale given." in output  # lee's reject with an empty rationale
    assert "Unknown field 'colour'." in output
    assert "amount: Input should be greater than or equal to 0" in output
    assert "check the quotes" in output
    assert "There is no exception EXC-000777" in output
    assert "'not-a-case' is not a case id" in output
    assert "Unknown command 'frobnicate'." in output
    details = await case_details(services, 1)
    assert details.case.status is CaseStatus.PENDING
    assert details.decisions == []


async def test_help_people_and_whoami(services: Services) -> None:
    output = await run_console(
        services, "help\npeople\nas lee@acme.example\nwhoami\n/exception help\n"
    )
    assert "as PERSON" in output
    assert "ada        Ada Admin <ada@acme.example> [admin]" in output
    assert "You are Lee Park (lee)." in output
    assert "/exception status EXC-000123" in output


def test_the_console_command_runs_a_script_to_the_end(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "APPROVALS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'console.db'}",
        "APPROVALS_POLICY_FILE": str(TEST_POLICY),
    }
    script = 'as rita\n/exception new OFF_CONTRACT "Laptops" amount=300 currency=EUR\nas lee\n1\n'
    done = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        input=script,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "You approved EXC-000001. The case is now approved." in done.stdout
    assert (tmp_path / "console.db").exists()


async def test_away_back_and_reassign_in_the_console(services: Services) -> None:
    output = await run_console(
        services,
        """\
as rita
/exception new OFF_CONTRACT "Laptops" amount=300 currency=EUR
as lee
/approvals away until 2020-01-01 delegate @sam
/approvals away until 2026-03-09 delegate @nobody
/approvals away until 2026-03-09 delegate @sam
as dana
/approvals reassign EXC-000001 @carl I am at a trade fair
/approvals reassign EXC-000001 @maria again
as lee
/approvals back
/approvals help
""",
    )
    assert "2020-01-01 is in the past" in output
    assert "I don't know who '@nobody' is" in output
    assert (
        "You are away until the end of 2026-03-09 (UTC). New approvals for you go to Sam "
        "Stand-in. Handed over: EXC-000001 (to Sam Stand-in)." in output
    )
    assert "→ card for Sam Stand-in (sam):" in output
    assert "EXC-000001 (category-lead) is now with Carl Chief." in output
    assert "EXC-000001 is not waiting for you" in output  # dana handed it on already
    assert "Lee Park handed category-lead to Sam Stand-in" in output
    assert "Welcome back" in output
    assert "/approvals away until 2026-12-01 [delegate @lee]" in output
    details = await case_details(services, 1)
    assert details.steps[0].approvers == ("sam", "carl")


class ScriptedInput:
    """Standard input that can move the clock and wait for the console to print something.

    A line `@advance HOURS until TEXT` moves the clock, then blocks (the console reads in a
    thread) until TEXT has been printed: the background sweep has to do it on its own.
    """

    def __init__(self, script: str, clock: ManualClock, out: io.StringIO) -> None:
        self.lines = io.StringIO(script)
        self.clock = clock
        self.out = out

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        line = self.lines.readline()
        while line.startswith("@advance "):
            hours, _, text = line.removeprefix("@advance ").strip().partition(" until ")
            self.clock.advance(timedelta(hours=float(hours)))
            deadline = time.monotonic() + 20
            while text not in self.out.getvalue():
                assert time.monotonic() < deadline, f"never printed: {text!r}"
                time.sleep(0.02)
            line = self.lines.readline()
        return line


async def test_the_console_sweeps_in_the_background_and_prints_reminders(
    db: Database, clock: ManualClock
) -> None:
    svc = Services(db=db, policy=load_policy(OVERDUE), clock=clock)
    out = io.StringIO()
    script = """\
as rita
/exception new OFF_CONTRACT "Laptops" amount=300 currency=EUR
@advance 1 until Reminder: EXC-000001
@advance 1 until reminder 2 to Lee Park
@advance 1 until escalated to Maria Finance
as maria
/approvals
"""
    scripted = cast(TextIO, ScriptedInput(script, clock, out))
    session = ConsoleSession(svc, scripted, out, sweep_seconds=0.05)

    assert await asyncio.wait_for(session.run(), timeout=60) == 0

    output = out.getvalue()
    assert (
        "→ message for Lee Park (lee): Reminder: EXC-000001 (Laptops) is waiting for your "
        "decision at leads, due 2026-03-02 13:00 UTC. Type /approvals to see it." in output
    )
    assert "→ card for Maria Finance (maria):" in output
    assert "Escalations:" in output
    assert "reminder 1 to Lee Park and Dana Reyes" in output
    assert "Escalated to you as the manager of Lee Park" in output
    assert output.rstrip().endswith("Bye.")

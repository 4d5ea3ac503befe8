"""The local console, scripted through its standard input."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from bot.console import ConsoleSession
from handlers.context import Services
from handlers.queries import case_details
from storage import audit
from storage.records import CaseStatus
from tests.conftest import TEST_POLICY


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

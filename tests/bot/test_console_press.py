"""Console presses ask the case model first: a refused press is told why at once, with no
prompt for a reason (so the next line is read as a command); one who must say why (a
rejection, a manager on an escalated step) is prompted and the next line is the reason."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import TextIO, cast

from bot.console import ConsoleSession
from handlers.clock import ManualClock
from handlers.context import Services
from handlers.queries import case_details
from handlers.sweep import sweep
from policy.loader import load_policy
from storage.database import Database
from storage.records import Action, CaseStatus, StepStatus
from tests.conftest import START
from tests.handlers.conftest import OVERDUE_POLICY, file

PROMPTED = "Type it on the next line (empty to cancel)."
SEGREGATION = "You filed this exception, so you cannot decide it (segregation of duties)."
HIGH_VALUE = '/exception new OFF_CONTRACT "Laptops" amount=30000 currency=EUR'
LOW_VALUE = '/exception new OFF_CONTRACT "Laptops" amount=300 currency=EUR'


class ButtonInput:
    """Standard input where `@press LABEL [text]` presses the newest button `LABEL` the
    console printed (`[7] Approve` -> `7 [text]`), so scripts need not count buttons."""

    def __init__(self, script: str, out: io.StringIO) -> None:
        self.lines = io.StringIO(script)
        self.out = out

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        line = self.lines.readline()
        if not line.startswith("@press "):
            return line
        label, _, text = line.removeprefix("@press ").rstrip("\n").partition(" ")
        numbers = re.findall(rf"\[(\d+)\] {re.escape(label)}\b", self.out.getvalue())
        assert numbers, f"no [N] {label} button printed yet"
        return f"{numbers[-1]} {text}".rstrip() + "\n"


async def run_console(services: Services, script: str) -> str:
    out = io.StringIO()
    session = ConsoleSession(services, cast(TextIO, ButtonInput(script, out)), out)
    assert await session.run() == 0
    return out.getvalue()


async def test_the_requester_pressing_their_own_card_is_refused_without_a_prompt(
    services: Services,
) -> None:
    # High value: approving needs a reason too, so each of these buttons would prompt.
    output = await run_console(
        services,
        f"""\
as rita
{HIGH_VALUE}
@press Approve
whoami
@press Reject
whoami
@press Request
whoami
""",
    )
    assert "[1] Approve  [2] Reject  [3] Request info" in output  # lee's card
    assert output.count(SEGREGATION) == 3
    assert PROMPTED not in output
    assert "Cancelled" not in output
    # The line after each press was not taken as a reason: it ran as a command.
    assert output.count("You are Rita Requester (rita).") == 4  # `as rita` and three whoami
    details = await case_details(services, 1)
    assert details.case.status is CaseStatus.PENDING
    assert details.decisions == []
    refused = [e for e in details.history if e.action == "decision.refused"]
    assert [(e.actor, e.platform) for e in refused] == [("rita", "console")] * 3


async def test_a_press_on_an_already_approved_case_is_refused_without_a_prompt(
    services: Services,
) -> None:
    output = await run_console(
        services,
        f"""\
as rita
{LOW_VALUE}
as lee
1
as dana
5
whoami
""",
    )
    assert "[4] Approve  [5] Reject  [6] Request info" in output  # dana's card
    assert "You approved EXC-000001. The case is now approved." in output
    assert "EXC-000001 is already approved: Lee Park approved it" in output
    assert PROMPTED not in output
    assert "You are Dana Reyes (dana)." in output.split("already approved")[-1]
    details = await case_details(services, 1)
    assert [(d.person, d.action) for d in details.decisions] == [("lee", Action.APPROVE)]


async def test_a_rejection_without_a_reason_is_prompted_and_the_next_line_is_the_reason(
    services: Services,
) -> None:
    output = await run_console(
        services,
        f"""\
as rita
{LOW_VALUE}
as lee
2
The reseller is not vetted
whoami
""",
    )
    assert f"A rejection needs a rationale: say why. {PROMPTED}" in output
    assert "Cancelled" not in output
    assert "You are Lee Park (lee)." in output.split(PROMPTED)[-1]  # read as a command again
    details = await case_details(services, 1)
    assert details.case.status is CaseStatus.REJECTED
    assert [(d.person, d.action, d.rationale, d.platform) for d in details.decisions] == [
        ("lee", Action.REJECT, "The reseller is not vetted", "console")
    ]


async def test_a_reason_typed_with_the_press_is_not_prompted_for(services: Services) -> None:
    output = await run_console(
        services,
        f"""\
as rita
{LOW_VALUE}
as lee
2 Duplicate of EXC-000000
""",
    )
    assert PROMPTED not in output
    details = await case_details(services, 1)
    assert [(d.action, d.rationale) for d in details.decisions] == [
        (Action.REJECT, "Duplicate of EXC-000000")
    ]


async def test_a_manager_on_an_escalated_step_is_prompted_and_decides_on_behalf(
    db: Database, clock: ManualClock
) -> None:
    late = Services(db=db, policy=load_policy(OVERDUE_POLICY), clock=clock)
    case = (await file(late, amount=300.0)).case
    for hour in (1, 2, 3):  # two reminders, then the step escalates to maria
        clock.set(START + timedelta(hours=hour))
        await sweep(late, "test-sweeper")
    assert (await case_details(late, case.id)).steps[0].escalated

    output = await run_console(
        late,
        """\
as maria
/approvals
@press Approve
Supplier vetted; urgent need
""",
    )
    assert (
        "You are deciding EXC-000001 on behalf of Lee Park as their manager: say why. "
        f"{PROMPTED}" in output
    )
    details = await case_details(late, case.id)
    assert details.case.status is CaseStatus.APPROVED
    assert details.steps[0].status is StepStatus.APPROVED
    [vote] = details.decisions
    assert (vote.person, vote.on_behalf_of, vote.rationale, vote.platform) == (
        "maria",
        "lee",
        "Supplier vetted; urgent need",
        "console",
    )

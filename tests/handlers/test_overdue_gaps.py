"""The overdue plan as the case model keeps it (SQLite and PostgreSQL): reminders on the
step's own clock, and a late step never handed back to someone who let it time out."""

from __future__ import annotations

from datetime import timedelta

from handlers.clock import ManualClock
from handlers.context import Services
from handlers.queries import case_details
from handlers.sweep import Outcome, sweep
from policy.loader import parse_policy
from tests.conftest import START
from tests.handlers.conftest import file

# lee's backup is ben, and ben's manager is lee: a reroute up from ben must skip lee, who had
# the step and let it time out, and go to lee's manager maria.
LOOP = """
name: Loop
people:
  - {id: rita, name: Rita Requester, email: rita@acme.example, manager: maria}
  - {id: lee, name: Lee Park, email: lee@acme.example, manager: maria}
  - {id: ben, name: Ben Backup, email: ben@acme.example, manager: lee}
  - {id: maria, name: Maria Finance, email: maria@acme.example}
taxonomy:
  - {code: OFF_CONTRACT, title: Purchase from a supplier without a contract}
tiers:
  - {id: t, approvers: [lee], sla: 3h, remind_every: 1h, escalate_after: 1, backup: [ben]}
rules: []
defaults:
  route: [t]
"""


async def at(svc: Services, hours: float) -> Outcome | None:
    assert isinstance(svc.clock, ManualClock)
    svc.clock.set(START + timedelta(hours=hours))
    report = await sweep(svc, "sweeper")
    return next(iter(report.outcomes), None)


async def test_reminders_fall_due_on_the_steps_clock_not_the_sweeps(late: Services) -> None:
    case = (await file(late)).case  # leads: a reminder every hour from 09:00, 4h SLA
    assert await at(late, 1.33) is Outcome.REMINDED  # the sweep ran 20 minutes late

    step = (await case_details(late, case.id)).steps[0]
    assert step.next_action_at == START + timedelta(hours=2)  # 11:00, not 11:20


async def test_a_late_step_never_goes_back_to_who_let_it_time_out(
    late: Services, clock: ManualClock
) -> None:
    late.policy = parse_policy(LOOP, "loop")
    case = (await file(late)).case

    assert [await at(late, hours) for hours in (1, 2, 3)] == [
        Outcome.REMINDED,
        Outcome.ESCALATED,  # to lee's manager, maria
        Outcome.REROUTED,  # lee timed out: to the backup, ben
    ]
    step = (await case_details(late, case.id)).steps[0]
    assert (step.approvers, step.former_approvers) == (("ben",), ("lee",))

    assert await at(late, 4) is Outcome.REMINDED
    assert await at(late, 5) is Outcome.ESCALATED  # ben's manager is lee: maria instead
    details = await case_details(late, case.id)
    assert details.history[-1].data["managers"] == ["maria"]

    assert await at(late, 6) is Outcome.REROUTED  # ben timed out: up past lee to maria
    step = (await case_details(late, case.id)).steps[0]
    assert (step.approvers, step.former_approvers) == (("maria",), ("lee", "ben"))

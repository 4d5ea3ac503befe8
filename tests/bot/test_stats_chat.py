"""`/approvals stats [30d]` in chat: a few lines of the program's KPIs, for the whole program
to admins and auditors, for their own cases to anyone else."""

from __future__ import annotations

import pytest

from bot.chat_commands import ShowStats, UsageError, parse_approvals_command, policy_resolver
from handlers.context import Services
from tests.bot.test_console import run_console


def test_parsing(services: Services) -> None:
    resolve = policy_resolver(services.policy)
    assert parse_approvals_command("stats", resolve) == ShowStats(30)
    assert parse_approvals_command("stats 7d", resolve) == ShowStats(7)
    assert parse_approvals_command("STATS 90", resolve) == ShowStats(90)
    for bad in ("stats 0d", "stats soon"):
        with pytest.raises(UsageError, match="is not a number of days like 30d"):
            parse_approvals_command(bad, resolve)


async def test_stats_in_the_console(services: Services) -> None:
    script = """\
as rita
/exception new OFF_CONTRACT "Laptops" amount=30000 currency=EUR supplier.name="Acme"
/exception new OFF_CONTRACT "Chairs" amount=900 currency=EUR
as lee
/approvals approve EXC-000001 Needed for the new hires
as maria
/approvals approve EXC-000001 Within budget
/approvals stats
as aud
/approvals stats 7d
as carl
/approvals stats
"""
    output = await run_console(services, script)
    assert (
        "Cases filed since 2026-01-31 09:00 UTC, the cases you filed or decide:\n"
        "1 filed, 0 decided by policy (0.0%); cycle time p50 0s, p90 0s.\n"
        "Open now: none.\n"
        "SLA breaches: 0 steps, 0 cases.\n"
        "Rubber stamps: 2 of 2 approvals under 60s, 0 with an empty rationale, 0 with a "
        "rationale repeated across cases.\n"
        "Leakage: EUR 30,000.00 in 1 case.\n"
    ) in output  # maria decided EXC-000001 only
    assert (
        "Cases filed since 2026-02-23 09:00 UTC, the whole program:\n"
        "2 filed, 0 decided by policy (0.0%); cycle time p50 0s, p90 0s.\n"
        "Open now: 1, the oldest EXC-000002 (0s).\n"
    ) in output  # the auditor
    assert (
        "Cases filed since 2026-01-31 09:00 UTC, the cases you filed or decide:\n"
        "0 filed, 0 decided by policy (-); cycle time p50 -, p90 -.\n"
        "Open now: none.\n"
        "SLA breaches: 0 steps, 0 cases.\n"
        "Rubber stamps: 0 of 0 approvals under 60s, 0 with an empty rationale, 0 with a "
        "rationale repeated across cases.\n"
        "Leakage: none.\n"
    ) in output  # carl is on no case
    assert "Dashboard:" not in output  # there is no dashboard yet

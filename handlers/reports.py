"""The exception program's KPIs: read the cases of the window in one snapshot, then compute
them with the policy in force (`policy.kpis`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.context import Services
from handlers.remediation_report import remediation_effects
from policy.kpi_approvals import CaseSnapshot
from policy.kpi_report import KpiReport
from policy.kpi_scope import counts_for, sees_whole_program
from policy.kpis import compute
from storage import kpi_reads
from storage import policy_versions as versions


@dataclass(frozen=True, slots=True)
class ProgramWindow:
    """The cases a viewer's KPIs count (filed since the window opened, and every one open
    now), and the KPIs computed from them."""

    snapshots: list[CaseSnapshot]
    report: KpiReport


async def program_report(svc: Services, since: datetime, viewer: str | None = None) -> KpiReport:
    """The KPIs of the cases filed from `since` to now (open cases: all of them).

    `viewer`: who asks, in chat; admins and auditors get the whole program, anyone else the
    cases they filed or decide (`policy.kpi_scope`). None (the command line, run by whoever
    runs the server): the whole program."""
    async with svc.db.reading() as conn:
        return (await program_window_in(conn, svc, since, viewer)).report


async def program_window_in(
    conn: AsyncConnection, svc: Services, since: datetime, viewer: str | None
) -> ProgramWindow:
    """`program_report`'s cases and figures, read through `conn` (one read snapshot, which
    the caller may go on reading from)."""
    now = svc.clock.now()
    snapshots = await kpi_reads.kpi_cases(conn, since)
    texts = await versions.texts_by_version(conn)
    person = None if viewer is None or sees_whole_program(svc.policy, viewer) else viewer
    if person is not None:
        snapshots = [s for s in snapshots if counts_for(svc.policy, person, s.case)]
    report = compute(
        snapshots, since=since, now=now, active=svc.policy, versions=texts, person=person
    )
    # The items closed in the window: their code's frequency before and after the close.
    closed = await remediation_effects(conn, svc.policy, since, now, person)
    return ProgramWindow(snapshots, replace(report, remediation=closed))

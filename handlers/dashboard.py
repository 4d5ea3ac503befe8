"""What the dashboard shows one person: the program's KPIs over a window, as they may see
them (`policy.kpi_scope`), the figures the KPI report lacks (`policy.dashboard_data`), and
the cases matching a search, each with its history. One read snapshot; writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handlers.context import Services
from handlers.people import name_of
from handlers.queries import CaseDetails
from handlers.reports import program_window_in
from policy.dashboard_data import ApproverLoad, Search, Volume, approver_loads, volume_over_time
from policy.kpi_approvals import approvals_by_people
from policy.kpi_report import KpiReport
from policy.remediation import may_view_item
from policy.remediation_effect import RemediationEffect
from policy.remediation_plan import RemediationItem
from storage import audit, remediation

MAX_LISTED = 50  # cases shown with their history; a search narrows the rest
TOP_APPROVERS = 10


@dataclass(frozen=True, slots=True)
class Dashboard:
    viewer: str
    report: KpiReport
    volume: Volume
    approvers: list[ApproverLoad]
    found: int  # cases matching the search; the first MAX_LISTED are in `listed`
    listed: list[CaseDetails]  # newest first
    # Remediation: the open items the viewer may see, and the effect of those closed in the
    # window (the code's frequency before and after the close).
    open_items: list[RemediationItem]
    closed: list[RemediationEffect]


async def dashboard(svc: Services, viewer: str, since: datetime, search: Search) -> Dashboard:
    """The dashboard of `viewer` (a person id of the policy in force) for the cases filed
    from `since` to now, and every case open now."""
    policy = svc.policy
    async with svc.db.reading() as conn:
        window = await program_window_in(conn, svc, since, viewer)
        matching = [
            s.case
            for s in window.snapshots
            if search.matches(s.case.record, name_of(policy, s.case.requester))
        ]
        matching.sort(key=lambda case: case.id, reverse=True)
        shown = matching[:MAX_LISTED]
        histories = await audit.events_for_cases(conn, [case.ref for case in shown])
        open_items = [
            item
            for item in await remediation.list_items(conn)
            if may_view_item(policy, item.owner, viewer)
        ]
    report = window.report
    now = report.until  # the KPIs' own now: the same cases are counted by both
    filed = [s for s in window.snapshots if since <= s.case.record.created_at <= now]
    return Dashboard(
        viewer=viewer,
        report=report,
        volume=volume_over_time((s.case.record for s in filed), since, now),
        approvers=approver_loads(report.by_approver, approvals_by_people(filed), TOP_APPROVERS),
        found=len(matching),
        listed=[CaseDetails(case, histories[case.ref]) for case in shown],
        open_items=open_items,
        closed=[e for e in report.remediation if may_view_item(policy, e.owner, viewer)],
    )

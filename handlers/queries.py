"""Read-only views of cases: one case with its history, a person's queue and requests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.context import Services
from handlers.errors import NotFound
from policy.audit_data import AuditData
from policy.case import Case
from policy.lifecycle import AuditKind
from policy.model import Policy
from storage import audit, case_list, case_state, cases
from storage.audit import AuditRecord
from storage.case_list import CaseFilter, Position
from storage.records import CaseRecord, CaseStatus, DecisionRecord, StepRecord, case_ref


@dataclass(frozen=True, slots=True)
class CaseDetails:
    model: Case
    history: list[AuditRecord]
    # The recent cases the policy's aggregates related it to (a possible split), as they are now.
    related: tuple[CaseRecord, ...] = ()

    @property
    def case(self) -> CaseRecord:
        return self.model.record

    @property
    def steps(self) -> list[StepRecord]:
        return list(self.model.steps)

    @property
    def decisions(self) -> list[DecisionRecord]:
        return list(self.model.votes)

    @property
    def open_step(self) -> StepRecord | None:
        """The step the case waits on (open, or paused for the requester's answer)."""
        return self.model.current_step


async def case_details(svc: Services, case_id: int) -> CaseDetails:
    return await svc.db.read(lambda conn: case_details_in(conn, case_id))


async def case_details_in(conn: AsyncConnection, case_id: int) -> CaseDetails:
    """The case as `conn` sees it: in a write transaction, with what it wrote so far."""
    case = await case_state.load_case(conn, case_id)
    if case is None:
        raise NotFound(f"There is no exception {case_ref(case_id)}.")
    history = await audit.events_for_case(conn, case.ref)
    related = [
        found
        for related_id in related_ids(history)
        if (found := await cases.get_case(conn, related_id)) is not None
    ]
    return CaseDetails(case, history, tuple(related))


MAX_RELATED = 10  # on a card; the audit event keeps them all


def related_ids(history: list[AuditRecord]) -> list[int]:
    """The cases the latest evaluation's aggregates counted, first filed first."""
    evaluated = next((e for e in reversed(history) if e.action == AuditKind.POLICY_EVALUATED), None)
    totals = AuditData.read(evaluated.data).aggregates if evaluated is not None else None
    ids = {
        case_id
        for value in (totals or {}).values()
        if isinstance(value, dict)
        for case_id in value.get("cases") or ()
        if isinstance(case_id, int) and not isinstance(case_id, bool)
    }
    return sorted(ids)[:MAX_RELATED]


async def case_page(
    svc: Services, filters: CaseFilter, after: Position | None, limit: int
) -> tuple[list[CaseDetails], Position | None]:
    """Up to `limit` cases matching `filters` after `after`, newest first, each whole; and
    where the next page starts (None on the last page). One read, so a page is consistent."""
    async with svc.db.reading() as conn:
        positions = await case_list.page(conn, filters, after, limit + 1)
        page = []
        for position in positions[:limit]:
            case = await case_state.load_case(conn, position.id)
            if case is not None:
                page.append(CaseDetails(case, await audit.events_for_case(conn, case.ref)))
    return page, positions[limit - 1] if len(positions) > limit else None


async def pending_approvals(svc: Services, person: str) -> list[CaseDetails]:
    """Cases whose current step waits for `person` to decide (as an approver, a delegate,
    or the manager an overdue step escalated to), oldest first. A case they already voted
    on is not theirs to decide any more, so it is not listed."""
    async with svc.db.reading() as conn:
        pairs = await cases.open_steps_for(conn, person)
        escalated = await cases.escalated_open_steps(conn)
    candidates = sorted({case_id for case_id, _ in pairs} | {case_id for case_id, _ in escalated})
    queue = []
    for case_id in candidates:
        details = await case_details(svc, case_id)
        if details.model.may_press(svc.policy, person).allowed:
            queue.append(details)
    return queue


async def requests_of(svc: Services, person: str, *, open_only: bool = True) -> list[CaseRecord]:
    async with svc.db.reading() as conn:
        return await cases.cases_requested_by(
            conn, person, CaseStatus.PENDING if open_only else None
        )


def may_view(policy: Policy, person_id: str, details: CaseDetails) -> bool:
    """The requester, anyone on the route, admins and auditors may see a case."""
    return details.model.may_view(policy, person_id)

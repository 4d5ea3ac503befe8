"""Read-only views of cases: one case with its history, a person's queue and requests."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.context import Services
from handlers.errors import NotFound
from policy.model import Policy, Role
from storage import audit, cases
from storage.audit import AuditRecord
from storage.records import CaseRecord, CaseStatus, DecisionRecord, StepRecord, case_ref


@dataclass(frozen=True, slots=True)
class CaseDetails:
    case: CaseRecord
    steps: list[StepRecord]
    decisions: list[DecisionRecord]
    history: list[AuditRecord]

    @property
    def open_step(self) -> StepRecord | None:
        return next((s for s in self.steps if s.status.value == "open"), None)


async def case_details(svc: Services, case_id: int) -> CaseDetails:
    async with svc.db.reading() as conn:
        case = await cases.get_case(conn, case_id)
        if case is None:
            raise NotFound(f"There is no exception {case_ref(case_id)}.")
        return CaseDetails(
            case=case,
            steps=await cases.steps_for_case(conn, case_id),
            decisions=await cases.decisions_for_case(conn, case_id),
            history=await audit.events_for_case(conn, case.ref),
        )


async def pending_approvals(svc: Services, person: str) -> list[CaseDetails]:
    """Cases whose open step waits for `person`, oldest first."""
    async with svc.db.reading() as conn:
        pairs = await cases.open_steps_for(conn, person)
    return [await case_details(svc, case_id) for case_id, _ in pairs]


async def requests_of(svc: Services, person: str, *, open_only: bool = True) -> list[CaseRecord]:
    async with svc.db.reading() as conn:
        return await cases.cases_requested_by(
            conn, person, CaseStatus.PENDING if open_only else None
        )


def may_view(policy: Policy, person_id: str, details: CaseDetails) -> bool:
    """The requester, anyone on the route, admins and auditors may see a case."""
    if person_id == details.case.requester:
        return True
    if any(person_id in step.approvers for step in details.steps):
        return True
    if any(d.person == person_id for d in details.decisions):
        return True
    person = policy.person(person_id)
    return person is not None and bool(person.roles & {Role.ADMIN, Role.AUDITOR})

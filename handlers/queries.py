"""Read-only views of cases: one case with its history, a person's queue and requests."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.context import Services
from handlers.errors import NotFound
from handlers.progress import deciders
from policy.model import Policy, Role
from policy.sod import Permission, may_decide
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
    """Cases whose open step waits for `person` (as an approver, or as the manager an
    overdue step escalated to), oldest first."""
    async with svc.db.reading() as conn:
        pairs = await cases.open_steps_for(conn, person)
        escalated = await cases.escalated_open_steps(conn)
    assigned = {case_id for case_id, _ in pairs}
    queue = [await case_details(svc, case_id) for case_id, _ in pairs]
    for case_id in sorted({case_id for case_id, _ in escalated} - assigned):
        details = await case_details(svc, case_id)
        if manager_permission(svc.policy, details, person) is not None:
            queue.append(details)
    return sorted(queue, key=lambda details: details.case.id)


def manager_permission(policy: Policy, details: CaseDetails, person: str) -> Permission | None:
    """If `person` may decide the case's escalated open step as an approver's manager, the
    permission (naming that approver); else None."""
    step = details.open_step
    if step is None or not step.escalated or person in step.approvers:
        return None
    voted = frozenset(
        p
        for v in details.decisions
        if v.step_id == step.id
        for p in (v.person, v.on_behalf_of)
        if p
    )
    permission = may_decide(
        policy,
        person,
        requester=details.case.requester,
        step_approvers=step.approvers,
        decided_other_steps=deciders(details.decisions, exclude_step=step.id),
        already_voted=person in voted,
        escalated=True,
        voted_on_step=voted,
    )
    return permission if permission.allowed and permission.rationale_required else None


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
    if manager_permission(policy, details, person_id) is not None:
        return True  # the step escalated to them
    person = policy.person(person_id)
    return person is not None and bool(person.roles & {Role.ADMIN, Role.AUDITOR})

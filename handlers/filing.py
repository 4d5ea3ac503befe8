"""Filing an exception: validate, dedupe, evaluate, then one transaction for everything."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.commands import FileException
from handlers.context import Actor, Services
from handlers.errors import InvalidRequest, NotAllowed
from handlers.people import names_of
from policy.evaluate import evaluate, request_problems
from policy.model import Evaluation, Outcome, Policy
from policy.overdue import opening_schedule
from policy.routing import NoEligibleApprover
from storage import absences, audit, cases, outbox
from storage.audit import AuditEvent, canonical_json
from storage.cases import NewCase, NewStep
from storage.outbox import MessageKind, OutgoingMessage
from storage.records import CaseRecord, CaseStatus, StepStatus, case_ref

POLICY_ACTOR = "system:policy"


@dataclass(frozen=True, slots=True)
class FilingResult:
    case: CaseRecord
    created: bool  # False when an earlier filing of the same event was returned


async def file_exception(svc: Services, actor: Actor, cmd: FileException) -> FilingResult:
    request = cmd.request
    policy = svc.policy
    problems = request_problems(request, policy)
    if problems:
        raise InvalidRequest(problems)
    requester = policy.find_person(request.requester)
    assert requester is not None  # request_problems checked it
    if actor.is_person and actor.id != requester.id:
        raise NotAllowed("You can file exceptions for yourself only.")

    request_data = request.model_dump(mode="json", exclude_none=True)
    request_data["requester"] = requester.id
    request_hash = hashlib.sha256(canonical_json(request_data).encode()).hexdigest()
    try:
        evaluation = evaluate(request, policy)
    except NoEligibleApprover as error:
        raise InvalidRequest([("route", str(error))]) from error

    now = svc.clock.now()
    async with svc.db.transaction() as conn:
        # Writers are serialized (see storage.database), so this check cannot race.
        existing = await _earlier_filing(conn, cmd, request_hash)
        if existing is not None:
            return FilingResult(existing, created=False)
        away = await absences.away_now(conn, now)
        if away:  # someone is away: their approvals go to the delegate they named
            try:
                evaluation = evaluate(request, policy, away)
            except NoEligibleApprover as error:
                raise InvalidRequest([("route", str(error))]) from error
        case, step_ids = await _store(
            conn, policy, actor, cmd, evaluation, request_data, request_hash, now
        )
        await _announce(conn, svc.policy, actor, case.id, step_ids, evaluation, requester.id, now)
    return FilingResult(case, created=True)


async def _earlier_filing(
    conn: AsyncConnection, cmd: FileException, request_hash: str
) -> CaseRecord | None:
    request = cmd.request
    if cmd.idempotency_key is not None:
        earlier = await cases.find_by_idempotency_key(conn, cmd.idempotency_key)
        if earlier is not None and earlier.request_hash != request_hash:
            raise InvalidRequest(
                [("Idempotency-Key", f"was already used for a different request ({earlier.ref})")]
            )
        if earlier is not None:
            return earlier
    if request.source and request.external_id:
        return await cases.find_by_external_id(conn, request.source, request.external_id)
    return None


def _initial_status(outcome: Outcome) -> CaseStatus:
    return {
        Outcome.ROUTE: CaseStatus.PENDING,
        Outcome.APPROVE: CaseStatus.APPROVED,
        Outcome.REJECT: CaseStatus.REJECTED,
    }[outcome]


async def _store(
    conn: AsyncConnection,
    policy: Policy,
    actor: Actor,
    cmd: FileException,
    evaluation: Evaluation,
    request_data: dict[str, object],
    request_hash: str,
    now: datetime,
) -> tuple[CaseRecord, list[int]]:
    request = cmd.request
    case = await cases.insert_case(
        conn,
        NewCase(
            status=_initial_status(evaluation.outcome),
            code=request.code,
            title=request.title,
            requester=str(request_data["requester"]),
            amount=request.amount,
            currency=request.currency,
            request=request_data,
            outcome=evaluation.outcome.value,
            rules=[
                {
                    "id": hit.rule_id,
                    "ref": hit.ref,
                    "url": hit.url,
                    "flags": list(hit.flags),
                    "why": hit.explanation,
                }
                for hit in evaluation.fired
            ],
            skipped_rules=[{"id": s.rule_id, "reason": s.reason} for s in evaluation.skipped],
            flags=list(evaluation.flags),
            rationale_required=evaluation.rationale_required,
            policy_version=evaluation.policy_version,
            source=request.source,
            external_id=request.external_id,
            idempotency_key=cmd.idempotency_key,
            request_hash=request_hash,
        ),
        now,
    )
    new_steps = [
        NewStep(
            position=position,
            tier=step.tier,
            mode=str(step.mode),
            required=step.required,
            approvers=step.approvers,
            status=StepStatus.WAITING,
            opened_at=None,
            due_at=None,
        )
        for position, step in enumerate(evaluation.route, start=1)
    ]
    if new_steps:  # the first step opens now, on its tier's clock
        schedule = opening_schedule(policy.tier(new_steps[0].tier), policy.calendar, now)
        new_steps[0] = dataclasses.replace(
            new_steps[0],
            status=StepStatus.OPEN,
            opened_at=now,
            due_at=schedule.due_at,
            next_action_at=schedule.next_action_at,
        )
    step_ids = await cases.insert_steps(conn, case.id, new_steps, evaluation.policy_version)
    return case, step_ids


async def _announce(
    conn: AsyncConnection,
    policy: Policy,
    actor: Actor,
    case_id: int,
    step_ids: list[int],
    evaluation: Evaluation,
    requester: str,
    now: datetime,
) -> None:
    """The audit events and messages of a new case."""
    ref = case_ref(case_id)
    version = evaluation.policy_version
    events = [
        AuditEvent(
            actor=actor.id,
            action="case.filed",
            case_ref=ref,
            policy_version=version,
            platform=actor.platform,
            data={"requester": requester},
        ),
        AuditEvent(
            actor=POLICY_ACTOR,
            action="policy.evaluated",
            case_ref=ref,
            policy_version=version,
            data={
                "outcome": evaluation.outcome.value,
                "fired": [hit.rule_id for hit in evaluation.fired],
                "skipped": [skip.rule_id for skip in evaluation.skipped],
                "flags": list(evaluation.flags),
                "route": [
                    {"tier": step.tier, "approvers": list(step.approvers)}
                    for step in evaluation.route
                ],
            },
        ),
    ]
    messages: list[OutgoingMessage] = []
    if evaluation.outcome is Outcome.ROUTE:
        first = evaluation.route[0]
        events.append(
            AuditEvent(
                actor=POLICY_ACTOR,
                action="step.opened",
                case_ref=ref,
                step_id=step_ids[0],
                policy_version=version,
                data={"tier": first.tier, "approvers": list(first.approvers)},
            )
        )
        messages += [
            OutgoingMessage(MessageKind.POST_CARD, case_id=case_id, recipient=person)
            for person in first.approvers
        ]
        summary = f"{ref} is waiting for {first.tier}: {names_of(policy, first.approvers)}."
    else:
        decided = "approved" if evaluation.outcome is Outcome.APPROVE else "rejected"
        reasons = "; ".join(hit.ref or hit.rule_id for hit in evaluation.deciding_rules)
        events.append(
            AuditEvent(
                actor=POLICY_ACTOR,
                action=f"case.{decided}",
                case_ref=ref,
                rationale=reasons,
                policy_version=version,
            )
        )
        summary = f"{ref} was {decided} by policy: {reasons}."
    if actor.id != requester:
        messages.append(
            OutgoingMessage(MessageKind.NOTIFY, case_id=case_id, recipient=requester, text=summary)
        )
    await audit.append(conn, events, now)
    await outbox.enqueue(conn, messages, now)

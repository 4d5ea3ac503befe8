"""Filing an exception: validate, dedupe, evaluate, then one transaction for everything."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.amending import amend_exception
from handlers.commands import FileException
from handlers.context import Actor, Services
from handlers.errors import Conflict, InvalidRequest, NotAllowed
from handlers.log_context import working_on
from handlers.people import names_of
from handlers.recording import record
from handlers.remediation import open_if_due
from handlers.route_steps import announce_first, insert_route
from policy.actor import POLICY
from policy.aggregates import Totals, recorded
from policy.aggregates import bound as aggregates_bound
from policy.amendments import content_of
from policy.audit_data import AuditData
from policy.case import Case
from policy.case_amend import evaluated_fields, evaluation_data
from policy.case_draft import Draft
from policy.case_flow import case_due_at
from policy.evaluate import evaluate, request_problems
from policy.lifecycle import CASE_ENDING, AuditKind
from policy.model import Evaluation, Outcome, Policy
from policy.remediation_plan import ItemChange
from storage import absences, cases
from storage.aggregates import totals_for
from storage.audit import canonical_json
from storage.cases import NewCase
from storage.database import Unit
from storage.records import CaseRecord, CaseStatus, StepRecord

REPEAT_WINDOW = timedelta(minutes=2)
FILING_ATTEMPTS = 3  # a filing that lost a race on a unique key runs again, once is enough


@dataclass(frozen=True, slots=True)
class FilingResult:
    case: CaseRecord
    created: bool  # False when an earlier filing of the same event was returned
    amended: bool = False  # a newer revision of the source's record amended that case


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
    evaluation = evaluate(request, policy)

    now = svc.clock.now()

    async def unit(conn: AsyncConnection) -> FilingResult | CaseRecord:
        """The new case, or an earlier filing of the same event (a CaseRecord: to amend)."""
        existing = await _earlier_filing(conn, actor, cmd, request_hash, requester.id, now)
        if existing is not None and content_of(existing.request) != content_of(request_data):
            # The source's record of this external id changed: a newer revision amends.
            if not _newer_revision(request.revision, existing.request.get("revision")):
                raise Conflict(_repost_conflict(existing))
            return existing
        if existing is not None:
            return FilingResult(existing, created=False)
        chosen = evaluation
        away = await absences.away_now(conn, now)
        totals = await totals_for(conn, policy, request_data, now)
        if away or totals:  # the delegates of people away; totals over recent cases
            chosen = evaluate(request, policy, away, aggregates_bound(totals))
        case, first = await _store(
            conn, policy, actor, cmd, chosen, request_data, request_hash, now
        )
        with working_on(case.id):  # its log lines name the new case
            opened = await open_if_due(conn, policy, case, now)  # the code's remediation item
            # Last: recording appends to the audit chain, whose lock is held to the commit.
            await _announce(conn, svc, actor, (case, first, chosen, totals), opened, now)
        return FilingResult(case, created=True)

    found = await _write_once(svc, unit)
    if isinstance(found, FilingResult):
        return found
    # Outside the filing's transaction: the amendment is a unit of work of its own.
    amended = await amend_exception(svc, actor, found.id, lambda _stored: request)
    return FilingResult(amended.case, created=False, amended=amended.amended)


async def _write_once(
    svc: Services, unit: Unit[FilingResult | CaseRecord]
) -> FilingResult | CaseRecord:
    """Run the filing's unit; a duplicate that lost the race is answered with the winner's case.

    Filings run side by side on PostgreSQL, so two deliveries of one event can both find no
    earlier filing. The unique constraints on (source, external_id) and on the Idempotency-Key
    decide: the second insert waits for the first to commit, then fails, and this filing rolls
    back and runs again, where `_earlier_filing` finds the first's case (created=False). A
    chat double submit has neither key: `cases.lock_repeat_filing` orders those instead.
    """
    for _ in range(FILING_ATTEMPTS - 1):
        try:
            return await svc.db.write(unit)
        except IntegrityError:
            continue
    return await svc.db.write(unit)


def _newer_revision(revision: int | None, stored: object) -> bool:
    return revision is not None and revision > (stored if isinstance(stored, int) else -1)


def _repost_conflict(existing: CaseRecord) -> str:
    stored = existing.request.get("revision")
    higher = f"a revision above {stored}" if isinstance(stored, int) else "a `revision`"
    return (
        f"{existing.ref} already holds {existing.source} {existing.external_id} with different "
        f"content. To amend it, post it again with {higher}, or send the changes with "
        f"PATCH /api/v1/exceptions/{existing.ref}."
    )


async def _earlier_filing(
    conn: AsyncConnection,
    actor: Actor,
    cmd: FileException,
    request_hash: str,
    requester: str,
    now: datetime,
) -> CaseRecord | None:
    """The case an earlier delivery of the same filing made: by Idempotency-Key, by source
    and external id, or (from chat, where neither exists) the same person filing the same
    content within REPEAT_WINDOW, which is what a replayed slash command or a double
    submit looks like."""
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
    if actor.is_person and cmd.idempotency_key is None:
        # No unique key to settle a double submit: repeats of one person's content queue here.
        await cases.lock_repeat_filing(conn, requester, request_hash)
        return await cases.find_recent_filing(conn, requester, request_hash, now - REPEAT_WINDOW)
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
) -> tuple[CaseRecord, StepRecord | None]:
    """Insert the case and its steps; returns the case and its first step, open now."""
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
            source=request.source,
            external_id=request.external_id,
            idempotency_key=cmd.idempotency_key,
            request_hash=request_hash,
            due_at=case_due_at(policy, request.code, now)
            if evaluation.outcome is Outcome.ROUTE
            else None,
            **evaluated_fields(policy, evaluation),
        ),
        now,
    )
    return case, await insert_route(conn, policy, case.id, evaluation, now)


async def _announce(
    conn: AsyncConnection,
    svc: Services,
    actor: Actor,
    filed: tuple[CaseRecord, StepRecord | None, Evaluation, Mapping[str, Totals]],
    opened: ItemChange | None,
    now: datetime,
) -> None:
    """The audit events, messages and webhooks of a new case (`filed`: the case, its first
    step, the evaluation and the totals it saw), then those of the item it opened."""
    case, first, evaluation, totals = filed
    policy = svc.policy
    draft = Draft(Case(case, (first,) if first else (), ()), policy, now)
    data = AuditData(requester=case.requester, request=case.request, request_hash=case.request_hash)
    draft.event(actor, AuditKind.CASE_FILED, data=data)
    evaluated = evaluation_data(evaluation, recorded(totals))
    draft.event(POLICY, AuditKind.POLICY_EVALUATED, data=evaluated)
    if first is not None:
        announce_first(draft, first, evaluation)
        route = evaluation.route[0]
        waiting = names_of(policy, route.approvers) or "nobody yet"
        summary = f"{case.ref} is waiting for {first.tier}: {waiting}."
    else:
        status = _initial_status(evaluation.outcome)
        reasons = "; ".join(hit.ref or hit.rule_id for hit in evaluation.deciding_rules)
        decided = AuditData(case_hash=case.request_hash)
        draft.event(POLICY, CASE_ENDING[status], rationale=reasons, data=decided)
        summary = f"{case.ref} was {status.value} by policy: {reasons}."
    if actor.id != case.requester:
        draft.notify([case.requester], summary)
    events, messages = list(draft.events), list(draft.messages)
    if opened is not None:
        events += opened.events
        messages += opened.messages
    await record(conn, svc, events, messages, now)

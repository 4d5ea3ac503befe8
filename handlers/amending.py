"""Amending a case from its source: a newer revision posted again, or a JSON merge patch.

The new request is built from the stored one inside the unit of work (`revise`), validated
as a filing is, and re-evaluated under the active policy. `policy.amendments` says whether
the change is material; `policy.case_amend` makes the change. A material amendment that
routes the case again inserts the new steps and opens the first in the same transaction
as the rest (`change_case`'s follow-up). A withdrawn, expired or revoked case cannot be
amended, nor can the source or external id of a case change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.context import Actor, Services
from handlers.errors import Conflict, InvalidRequest
from handlers.route_steps import announce_first, insert_route
from handlers.unit import change_case
from policy.aggregates import Totals, recorded
from policy.aggregates import bound as aggregates_bound
from policy.amendments import changed_fields, content_of, material_reasons
from policy.case import Case
from policy.case_amend import UNAMENDABLE, Amendment, amend, live_route
from policy.case_draft import Change, Draft
from policy.effects import AuditEvent, OutgoingMessage
from policy.evaluate import evaluate, request_problems
from policy.model import Outcome
from policy.request import ExceptionRequest
from storage import case_state
from storage.aggregates import totals_for
from storage.audit import canonical_json
from storage.records import CaseRecord

# The new request, made from the stored one (a repost ignores it, a patch applies to it);
# raises InvalidRequest when the result is not a valid request.
Reviser = Callable[[Mapping[str, Any]], ExceptionRequest]


@dataclass(frozen=True, slots=True)
class AmendResult:
    case: CaseRecord
    amended: bool  # False: the new request says what the stored one says
    material: bool = False
    note: str = ""


def normalized(request: ExceptionRequest, requester_id: str) -> tuple[dict[str, Any], str]:
    """The request as a case stores it (the requester by id) and its SHA-256."""
    data = request.model_dump(mode="json", exclude_none=True)
    data["requester"] = requester_id
    return data, hashlib.sha256(canonical_json(data).encode()).hexdigest()


async def amend_exception(
    svc: Services, actor: Actor, case_id: int, revise: Reviser
) -> AmendResult:
    policy = svc.policy
    made: list[Amendment] = []  # the amendment of the attempt that is being saved
    totals = await _totals(svc, case_id, revise)

    def make(case: Case, away: Mapping[str, str]) -> Change:
        made.clear()
        record = case.record
        if record.status in UNAMENDABLE:
            raise Conflict(f"{case.ref} is {record.status.value}; it cannot be amended.")
        request = revise(record.request)
        if (request.source, request.external_id) != (record.source, record.external_id):
            raise InvalidRequest([("source", "the source and external_id of a case cannot change")])
        problems = request_problems(request, policy)
        if problems:
            raise InvalidRequest(problems)
        stored_revision = record.request.get("revision")
        if (
            request.revision is not None
            and isinstance(stored_revision, int)
            and request.revision < stored_revision
        ):
            raise Conflict(
                f"{case.ref} is at revision {stored_revision}; revision {request.revision} "
                "is older."
            )
        requester = policy.find_person(request.requester)
        assert requester is not None  # request_problems checked it
        data, request_hash = normalized(request, requester.id)
        if content_of(data) == content_of(record.request):
            return Change(case, note=f"{case.ref} already says that; nothing changed.")
        evaluation = evaluate(request, policy, away, aggregates_bound(totals))
        changes = changed_fields(record.request, data)
        reasons = material_reasons(policy, changes, record.outcome, live_route(case), evaluation)
        amendment = Amendment(
            data,
            request_hash,
            evaluation,
            changes,
            reasons,
            request.revision,
            recorded(totals) or None,
        )
        made.append(amendment)
        return amend(policy, case, actor, amendment, svc.clock.now())

    async def route_again(
        conn: AsyncConnection, change: Change
    ) -> tuple[list[AuditEvent], list[OutgoingMessage]]:
        """A material amendment that goes to people: its new steps, the first one open."""
        if not made or not made[0].material or made[0].evaluation.outcome is not Outcome.ROUTE:
            return [], []
        evaluation, case, now = made[0].evaluation, change.case, svc.clock.now()
        after = max((s.position for s in case.steps), default=0)
        first = await insert_route(conn, policy, case.id, evaluation, now, after)
        if first is None:
            return [], []
        reloaded = await case_state.load_case(conn, case.id)
        assert reloaded is not None
        draft = Draft(reloaded, policy, now)
        announce_first(draft, first, evaluation)
        return draft.events, list(draft.ordered_messages())

    change = await change_case(svc, case_id, make, route_again)
    amendment = made[0] if made else None
    return AmendResult(
        change.case.record,
        amended=amendment is not None,
        material=amendment is not None and amendment.material,
        note=change.note,
    )


async def _totals(svc: Services, case_id: int, revise: Reviser) -> dict[str, Totals]:
    """The policy's aggregates for the amended request, read before the unit of work (they
    count other cases, which this amendment does not change)."""
    if not svc.policy.aggregates:
        return {}
    async with svc.db.reading() as conn:
        case = await case_state.load_case(conn, case_id)
        if case is None:
            return {}  # change_case says there is no such case
        try:
            request = revise(case.record.request)
        except InvalidRequest:
            return {}  # change_case gives the same problems
        requester = svc.policy.find_person(request.requester)
        if requester is None:
            return {}
        data, _ = normalized(request, requester.id)
        return await totals_for(conn, svc.policy, data, svc.clock.now(), exclude=case_id)

"""One change to one case, whole: load it, let the case model decide, save state, audit,
outbox and webhooks (`handlers.recording`) in one transaction.

The model's answer to "may this actor do this" maps to the user's errors in one place
(`guard`): nobody may (the case is final, the card is out of date) is a Conflict; this person
may not is a refusal, recorded in the audit log and then refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.context import Actor, Services
from handlers.errors import Conflict, NotAllowed, NotFound
from handlers.log_context import working_on
from handlers.recording import record
from policy.case import Case, Permission, Verdict
from policy.case_changes import refusal
from policy.case_draft import Change
from policy.effects import AuditEvent, OutgoingMessage
from policy.lifecycle import Action, AuditKind, case_ref
from storage import absences, case_state

MAX_ATTEMPTS = 5  # compare-and-set retries before telling the user to try again

# Makes the change from the case as loaded and who is away now; may raise a DomainError.
MakeChange = Callable[[Case, Mapping[str, str]], Change]
# Writes what the change needs beyond the case's own rows (a material amendment's new steps),
# in the same transaction, and returns the further events and messages that go with it.
FollowUp = Callable[
    [AsyncConnection, Change], Awaitable[tuple[list[AuditEvent], list[OutgoingMessage]]]
]


class _LostRace(Exception):
    """The case changed since it was loaded; the transaction rolls back and is retried."""


async def change_case(
    svc: Services, case_id: int, make: MakeChange, then: FollowUp | None = None
) -> Change:
    """Apply `make` to the case as stored now. Two changes made at once from the same state
    cannot both land: `storage.case_state.save_case` compares and sets the case's version, and the
    loser is retried on fresh state (where the model then answers, say, "already decided")."""
    for _ in range(MAX_ATTEMPTS):
        try:
            with working_on(case_id):  # its log lines name the case
                change = await _attempt(svc, case_id, make, then)
        except _LostRace:
            continue
        if change.refused:
            raise NotAllowed(change.note)
        return change
    raise Conflict("The case is changing quickly right now; please try again.")


async def _attempt(svc: Services, case_id: int, make: MakeChange, then: FollowUp | None) -> Change:
    now = svc.clock.now()

    async def unit(conn: AsyncConnection) -> Change:
        case = await case_state.load_case(conn, case_id)
        if case is None:
            raise NotFound(f"There is no exception {case_ref(case_id)}.")
        change = make(case, await absences.away_now(conn, now))
        if not await case_state.save_case(conn, case, change.case):
            raise _LostRace
        events, messages = list(change.events), list(change.messages)
        if then is not None:
            more_events, more_messages = await then(conn, change)
            events += more_events
            messages += more_messages
        await record(conn, svc, events, messages, now)
        return change

    return await svc.db.write(unit)


def guard(
    svc: Services,
    case: Case,
    actor: Actor,
    permission: Permission,
    kind: AuditKind,
    *,
    attempted: Action | None = None,
    rationale: str | None = None,
) -> Change | None:
    """None if `permission` allows; a refusal to record if it refuses this actor; raises
    Conflict if nobody may act on the case as it is."""
    if permission.verdict is Verdict.ALLOWED:
        return None
    reason = permission.reason or "That is not possible now."
    if permission.verdict is Verdict.CLOSED:
        raise Conflict(reason)
    return refusal(
        svc.policy,
        case,
        actor,
        kind,
        reason,
        svc.clock.now(),
        attempted=attempted,
        rationale=rationale,
    )

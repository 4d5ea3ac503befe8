"""Delegation while away, and handing a step to someone else.

`/approvals away until DATE [delegate PERSON]` marks the actor away through the end of DATE
(in the policy calendar's time zone, else UTC). Meanwhile new steps that would go to them go
to the delegate (named, else the policy's `delegate:`; see `policy.routing`), and each open
step waiting for them is handed over at once, with a note. Segregation of duties holds: a
delegate who filed the case, decided another step of it or is already on the step is passed
over for the tier's backup, then the away person's managers; when nobody may take a step,
it stays with them and the reply says so. `/approvals back` ends the absence early; steps
handed over stay where they went.

`/approvals reassign CASE PERSON [from PERSON] reason` hands the actor's own place on the open
step to someone else; an admin may move anyone's place (`from`), with a reason.

Bad input changes nothing: the command is refused with a message saying what to fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.commands import ComeBack, GoAway, Reassign
from handlers.context import Actor, Services
from handlers.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from handlers.people import name_of
from handlers.recording import record
from handlers.unit import change_case, guard
from policy.audit_data import AuditData
from policy.case import Case, Verdict
from policy.case_changes import hand_over
from policy.case_draft import Change
from policy.case_records import CaseRecord, StepRecord
from policy.effects import AuditEvent, OutgoingMessage
from policy.lifecycle import AuditKind
from policy.model import Person, Policy
from policy.roles import Need, role_problem
from policy.routing import manager_chain, stand_in
from storage import absences, audit, case_state, cases

MAX_AWAY = timedelta(days=366)
MAX_REASON = 3000


@dataclass(frozen=True, slots=True)
class AbsenceResult:
    message: str
    handed_over: tuple[str, ...] = ()  # case refs
    kept: tuple[str, ...] = ()  # case refs nobody else may take


@dataclass(frozen=True, slots=True)
class ReassignResult:
    case: CaseRecord
    message: str


def _person(svc: Services, actor: Actor) -> Person:
    person = svc.policy.person(actor.id) if actor.is_person else None
    if person is None:
        raise NotAllowed("Only people in the policy can be away or hand on approvals.")
    return person


def _find(policy: Policy, who: str, role: str) -> Person:
    person = policy.find_person(who.strip().removeprefix("@"))
    if person is None:
        raise NotFound(
            f"There is nobody called {who!r} in the policy to be your {role}: "
            "name a person by id or email."
        )
    return person


def _zone_name(policy: Policy) -> str:
    return policy.calendar.timezone if policy.calendar is not None else "UTC"


def back_at(policy: Policy, until: date) -> datetime:
    """The first moment after the last day away: midnight after `until`, local time."""
    zone = policy.calendar.zone if policy.calendar is not None else UTC
    return datetime.combine(until + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


async def go_away(svc: Services, actor: Actor, cmd: GoAway) -> AbsenceResult:
    policy, now = svc.policy, svc.clock.now()
    me = _person(svc, actor)
    zone = policy.calendar.zone if policy.calendar is not None else UTC
    today = now.astimezone(zone).date()
    if cmd.until < today:
        raise InvalidRequest(
            [("until", f"{cmd.until.isoformat()} is in the past; give your last day away")]
        )
    until = back_at(policy, cmd.until)
    if until - now > MAX_AWAY:
        raise InvalidRequest([("until", f"{cmd.until.isoformat()} is more than a year ahead")])
    if cmd.delegate is not None:
        delegate = _find(policy, cmd.delegate, "delegate")
    elif me.delegate is not None and policy.person(me.delegate) is not None:
        delegate = policy.people[me.delegate]
    else:
        raise InvalidRequest(
            [
                (
                    "delegate",
                    "name who takes your approvals: /approvals away until DATE delegate @who",
                )
            ]
        )
    if delegate.id == me.id:
        raise InvalidRequest([("delegate", "you cannot be your own delegate")])
    day = f"the end of {cmd.until.isoformat()} ({_zone_name(policy)})"

    async def unit(conn: AsyncConnection) -> tuple[list[tuple[str, str]], list[str]]:
        # The absences' own lock (storage.absences): the delegate's check below cannot race
        # the delegate going away, nor the hand-over a filing routing to `me` right now.
        await absences.lock_for_change(conn)
        theirs = await absences.active_absence(conn, delegate.id, now)
        if theirs is not None:
            raise Conflict(
                f"{delegate.name} is away too (back {_day(policy, theirs.until)}); "
                "choose someone else."
            )
        await absences.start_absence(
            conn, person=me.id, until=until, delegate=delegate.id, set_by=actor.id, now=now
        )
        away = AuditEvent(
            actor=actor.id,
            action=AuditKind.PERSON_AWAY,
            platform=actor.platform,
            policy_version=policy.version,
            data=AuditData(until=cmd.until.isoformat(), delegate=delegate.id).to_json(),
        )
        handed, kept, events, messages = await _hand_over_all(
            svc, conn, actor, (me, delegate), day, now
        )
        await record(conn, svc, [away, *events], messages, now)  # last: the chain's lock
        return handed, kept

    handed, kept = await svc.db.write(unit)
    message = f"You are away until {day}. New approvals for you go to {delegate.name}."
    if handed:
        message += " Handed over: " + ", ".join(f"{ref} (to {who})" for ref, who in handed) + "."
    if kept:
        message += f" Kept, as nobody else may decide them: {', '.join(kept)}."
    return AbsenceResult(message, tuple(ref for ref, _ in handed), tuple(kept))


def _day(policy: Policy, back: datetime) -> str:
    zone = policy.calendar.zone if policy.calendar is not None else UTC
    return back.astimezone(zone).date().isoformat()


async def come_back(svc: Services, actor: Actor, cmd: ComeBack) -> AbsenceResult:
    me, now = _person(svc, actor), svc.clock.now()

    async def unit(conn: AsyncConnection) -> bool:
        await absences.lock_for_change(conn)
        if not await absences.end_absence(conn, me.id, now):
            return False
        await audit.append(
            conn,
            [AuditEvent(actor=actor.id, action=AuditKind.PERSON_BACK, platform=actor.platform)],
            now,
        )
        return True

    if not await svc.db.write(unit):
        return AbsenceResult("You were not marked away; nothing changed.")
    return AbsenceResult(
        "Welcome back: new approvals come to you again. Steps handed over while you were "
        "away stay with the people who have them."
    )


async def _hand_over_all(
    svc: Services,
    conn: AsyncConnection,
    actor: Actor,
    people: tuple[Person, Person],
    day: str,
    now: datetime,
) -> tuple[list[tuple[str, str]], list[str], list[AuditEvent], list[OutgoingMessage]]:
    """Hand each current step waiting for `me` to a stand-in (`people`: me, my delegate);
    (handed, kept) case refs, and the events and messages for the caller to record last."""
    me, delegate = people
    away = await absences.away_now(conn, now)
    handed: list[tuple[str, str]] = []
    kept: list[str] = []
    events: list[AuditEvent] = []
    messages: list[OutgoingMessage] = []
    for case_id, step_id in await cases.open_steps_for(conn, me.id):
        case = await case_state.load_case(conn, case_id)
        step = case.current_step if case is not None else None
        if case is None or step is None or step.id != step_id or me.id in case.voted(step):
            continue
        target = next(
            (
                p
                for p in _stand_ins(svc.policy, me.id, delegate.id, step, away)
                if case.may_receive(svc.policy, step, p).allowed
            ),
            None,
        )
        if target is None:
            kept.append(case.ref)
            continue
        reason = f"{me.name} is away until {day}"
        change = hand_over(svc.policy, case, actor, step, me.id, target, reason, now)
        # Compare-and-set on the case's version, as every change of a case.
        if not await case_state.save_case(conn, case, change.case):
            raise Conflict(f"{case.ref} changed while you were acting; please try again.")
        events += change.events
        messages += change.messages
        handed.append((case.ref, name_of(svc.policy, target)))
    return handed, kept, events, messages


def _stand_ins(
    policy: Policy, person: str, delegate: str, step: StepRecord, away: Mapping[str, str]
) -> Iterator[str]:
    """Who may take `person`'s place on `step`, best first: delegate, backup, managers."""
    tier = next((t for t in policy.tiers if t.id == step.tier), None)
    backups = policy.expand(tier.backup) if tier is not None else ()
    for candidate in (delegate, *(stand_in(policy, p, away) for p in backups)):
        if candidate not in step.approvers and candidate not in away:
            yield candidate
    for manager in manager_chain(policy, person):
        if manager not in step.approvers and manager not in away:
            yield manager


async def reassign(svc: Services, actor: Actor, cmd: Reassign) -> ReassignResult:
    """Hand a place on a case's open step to someone else: an approver their own place, an
    admin anyone's (`cmd.place`, or the one approver still awaited)."""
    policy = svc.policy
    me = _person(svc, actor)
    reason = cmd.reason.strip()
    if not reason:
        raise InvalidRequest([("reason", "say why you hand the step on")])
    if len(reason) > MAX_REASON:
        raise InvalidRequest([("reason", f"is longer than {MAX_REASON} characters")])
    target = _find(policy, cmd.to, "stand-in")
    place = None
    if cmd.place is not None:
        found = policy.find_person(cmd.place.strip().removeprefix("@"))
        if found is None:
            raise NotFound(f"There is nobody called {cmd.place!r} in the policy.")
        place = found.id
    async with svc.db.reading() as conn:
        theirs = await absences.active_absence(conn, target.id, svc.clock.now())
    if theirs is not None:
        stand = name_of(policy, theirs.delegate)
        raise Conflict(
            f"{target.name} is away (back {_day(policy, theirs.until)}); "
            f"hand it to {stand}, who stands in for them, or to someone else."
        )

    def make(case: Case, away: Mapping[str, str]) -> Change:
        owner = case.place_to_move(policy, me.id, place)
        if owner is not None and target.id == owner:
            whose = "yours" if owner == me.id else f"{target.name}'s"
            raise InvalidRequest([("person", f"name someone else: the step is already {whose}")])
        permission = case.may_hand_over(policy, me.id, target.id, place)
        if permission.verdict is Verdict.CLOSED:
            raise Conflict(permission.reason or f"{case.ref} cannot be handed on now.")
        if not permission.allowed:
            if place not in (None, me.id) and role_problem(policy, me.id, Need.CHANGE):
                # Moving someone else's place is an admin command: a non-admin's try is audited.
                refused = guard(svc, case, actor, permission, AuditKind.REASSIGN_REFUSED)
                if refused is not None:
                    return refused
            # An approver's own bad handover changes nothing: the reply says what to fix.
            raise NotAllowed(permission.reason or f"You cannot hand {case.ref} on.")
        step = case.current_step
        assert step is not None
        assert owner is not None
        return hand_over(policy, case, actor, step, owner, target.id, reason, svc.clock.now())

    change = await change_case(svc, cmd.case_id, make)
    return ReassignResult(change.case.record, change.note)

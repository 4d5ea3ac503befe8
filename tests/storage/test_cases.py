"""The case repository: round trips, compare-and-set updates, and serialized writers."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from handlers.clock import ManualClock
from policy.case import Case
from storage.case_state import load_case, save_case
from storage.cases import (
    cases_requested_by,
    count_by_status,
    decisions_for_case,
    find_by_external_id,
    find_by_idempotency_key,
    get_case,
    insert_decision,
    open_steps_for,
    replace_assignments,
    steps_for_case,
    update_case,
)
from storage.database import Database
from storage.records import Action, CaseRecord, CaseStatus, StepRecord, StepStatus
from tests.storage.factories import POLICY_VERSION, create_case, new_step


async def _case(db: Database, case_id: int) -> CaseRecord:
    async with db.reading() as conn:
        case = await get_case(conn, case_id)
    assert case is not None
    return case


async def _step(db: Database, case_id: int) -> StepRecord:
    async with db.reading() as conn:
        (step,) = await steps_for_case(conn, case_id)
    return step


async def test_case_and_steps_round_trip(db: Database, clock: ManualClock) -> None:
    due = clock.now() + timedelta(hours=24)
    async with db.transaction() as conn:
        case_id = await create_case(
            conn,
            clock.now(),
            steps=[
                new_step(1, approvers=("bob", "carol"), opened_at=clock.now(), due_at=due),
                new_step(2, approvers=("dave",), status=StepStatus.WAITING, tier="cfo"),
            ],
            source="erp",
            external_id="INV-7",
        )

    case = await _case(db, case_id)
    async with db.reading() as conn:
        first, second = await steps_for_case(conn, case_id)

    assert case.ref == f"EXC-{case_id:06d}"
    assert case.status is CaseStatus.PENDING
    assert case.version == 1
    assert case.request["supplier"] == {"name": "Acme GmbH", "risk_score": 40}
    assert case.flags == ["no-po"]
    assert (case.source, case.external_id) == ("erp", "INV-7")
    assert case.created_at == case.updated_at == clock.now()
    assert case.closed_at is None
    assert (first.position, first.approvers, first.status) == (1, ("bob", "carol"), StepStatus.OPEN)
    assert (first.opened_at, first.due_at, first.version) == (clock.now(), due, 1)
    assert (second.tier, second.approvers, second.status) == ("cfo", ("dave",), StepStatus.WAITING)
    assert second.policy_version == POLICY_VERSION


async def test_a_case_filed_in_a_final_state_is_closed_at_once(
    db: Database, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        case_id = await create_case(conn, clock.now(), status=CaseStatus.APPROVED)
    case = await _case(db, case_id)
    assert case.status is CaseStatus.APPROVED
    assert case.closed_at == clock.now()


# -- compare-and-set -----------------------------------------------------------------------


async def test_update_case_with_the_current_version_applies(
    db: Database, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        case_id = await create_case(conn, clock.now())
    case = await _case(db, case_id)
    clock.advance(timedelta(minutes=3))

    async with db.transaction() as conn:
        applied = await update_case(
            conn, case, status=CaseStatus.APPROVED.value, updated_at=clock.now()
        )

    after = await _case(db, case_id)
    assert applied is True
    assert after.version == 2
    assert after.status is CaseStatus.APPROVED
    assert after.updated_at == clock.now()


async def test_update_case_with_a_stale_version_changes_nothing(
    db: Database, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        case_id = await create_case(conn, clock.now())
    stale = await _case(db, case_id)
    async with db.transaction() as conn:
        assert await update_case(conn, stale, status=CaseStatus.REJECTED.value)
    current = await _case(db, case_id)

    async with db.transaction() as conn:
        applied = await update_case(conn, stale, status=CaseStatus.APPROVED.value, title="x")

    assert applied is False
    assert await _case(db, case_id) == current
    assert current.status is CaseStatus.REJECTED
    assert current.version == 2


async def test_update_case_of_an_unknown_case_is_refused(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        case_id = await create_case(conn, clock.now())
    case = await _case(db, case_id)
    ghost = dataclasses.replace(case, id=case_id + 1)

    async with db.transaction() as conn:
        assert await update_case(conn, ghost, status=CaseStatus.APPROVED.value) is False
    assert (await _case(db, case_id)).version == 1


async def test_two_changes_saved_from_the_same_case_only_the_first_lands(
    db: Database, clock: ManualClock
) -> None:
    """`save_case` compares and sets the case's version: a change made from a state someone
    else has changed since is refused whole (nothing of it is written)."""
    async with db.transaction() as conn:
        case_id = await create_case(conn, clock.now(), steps=[new_step(1)])
        before = await load_case(conn, case_id)
    assert before is not None
    step = before.steps[0]

    def changed(status: StepStatus, required: int) -> Case:
        new_step_ = replace(step, status=status, required=required, version=step.version + 1)
        record = replace(before.record, version=before.record.version + 1)
        return replace(before, record=record, steps=(new_step_,))

    async with db.transaction() as conn:
        first = await save_case(conn, before, changed(StepStatus.APPROVED, 1))
    async with db.transaction() as conn:
        second = await save_case(conn, before, changed(StepStatus.REJECTED, 5))

    assert (first, second) == (True, False)
    async with db.reading() as conn:
        after = await load_case(conn, case_id)
    assert after is not None
    assert (after.steps[0].status, after.steps[0].required) == (StepStatus.APPROVED, 1)
    assert after.record.version == 2


async def test_concurrent_writers_with_the_same_stale_version_one_wins(
    db: Database, clock: ManualClock
) -> None:
    """Both read version 1 before either writes; exactly one compare-and-set applies."""
    async with db.transaction() as conn:
        case_id = await create_case(conn, clock.now())
    seen = await _case(db, case_id)

    async def write(status: CaseStatus) -> bool:
        async with db.transaction() as conn:
            return await update_case(conn, seen, status=status.value)

    results = await asyncio.gather(write(CaseStatus.APPROVED), write(CaseStatus.REJECTED))

    final = await _case(db, case_id)
    assert sorted(results) == [False, True]
    winner = CaseStatus.APPROVED if results[0] else CaseStatus.REJECTED
    assert final.status is winner
    assert final.version == 2


# SQLite only: its writers are serialized. PostgreSQL's run side by side and the loser of a
# compare-and-set backs off instead (the next test, and tests/handlers/test_races.py).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_two_simultaneous_decisions_exactly_one_wins(
    db: Database, clock: ManualClock
) -> None:
    """Two clicks at once: each transaction reads the case and closes it if still pending.

    Writers are serialized, so the second one reads the first one's result and backs off.
    """
    async with db.transaction() as conn:
        case_id = await create_case(conn, clock.now())
    first_has_read = asyncio.Event()
    second_is_starting = asyncio.Event()

    async def decide(status: CaseStatus, *, wait_for_other: bool) -> CaseStatus | None:
        """Returns None if this decision was applied, else the status it found instead."""
        if not wait_for_other:
            await first_has_read.wait()
            second_is_starting.set()
        async with db.transaction() as conn:
            case = await get_case(conn, case_id)
            assert case is not None
            if wait_for_other:
                # Hold the transaction open until the other writer is on its way in.
                first_has_read.set()
                await second_is_starting.wait()
            if case.status.is_final:
                return case.status
            applied = await update_case(conn, case, status=status.value, closed_at=clock.now())
            assert applied, "a serialized writer never loses a compare-and-set"
            return None

    first, second = await asyncio.gather(
        decide(CaseStatus.APPROVED, wait_for_other=True),
        decide(CaseStatus.REJECTED, wait_for_other=False),
    )

    final = await _case(db, case_id)
    assert first is None  # the first click won...
    assert second is CaseStatus.APPROVED  # ...and the second one was told what happened
    assert final.status is CaseStatus.APPROVED
    assert final.version == 2
    assert final.closed_at == clock.now()


async def test_serialized_writers_each_increment_the_version_once(
    db: Database, clock: ManualClock
) -> None:
    """Read-then-CAS inside the transaction: with writers serialized (SQLite) none of them
    loses; side by side (PostgreSQL) some may, but each version is set exactly once."""
    writers = 5
    async with db.transaction() as conn:
        case_id = await create_case(conn, clock.now())

    async def bump(n: int) -> tuple[int, bool]:
        async with db.transaction() as conn:
            case = await get_case(conn, case_id)
            assert case is not None
            applied = await update_case(conn, case, title=f"edited by writer {n}")
            return case.version, applied

    results = await asyncio.gather(*(bump(n) for n in range(writers)))

    final = await _case(db, case_id)
    landed = sorted(version for version, applied in results if applied)
    if db.is_sqlite:
        assert landed == list(range(1, writers + 1))
    assert landed == list(range(1, len(landed) + 1))  # one writer per version, none lost
    assert final.version == 1 + len(landed)


# -- the rest of the repository ------------------------------------------------------------


async def test_a_person_cannot_decide_the_same_step_twice(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        case_id = await create_case(conn, clock.now(), steps=[new_step(1)])
    step = await _step(db, case_id)

    async def vote(action: Action) -> None:
        async with db.transaction() as conn:
            await insert_decision(
                conn,
                step=step,
                person="bob",
                on_behalf_of=None,
                action=action,
                rationale="fine by me",
                platform="slack",
                now=clock.now(),
            )

    await vote(Action.APPROVE)
    with pytest.raises(IntegrityError):
        await vote(Action.REJECT)

    async with db.reading() as conn:
        decisions = await decisions_for_case(conn, case_id)
    assert [(d.person, d.action, d.rationale, d.at) for d in decisions] == [
        ("bob", Action.APPROVE, "fine by me", clock.now())
    ]


async def test_open_steps_for_lists_only_open_steps_assigned_to_the_person(
    db: Database, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        first = await create_case(
            conn,
            clock.now(),
            steps=[new_step(1, approvers=("bob",)), new_step(2, status=StepStatus.WAITING)],
        )
        await create_case(conn, clock.now(), steps=[new_step(1, approvers=("carol",))])
        third = await create_case(
            conn, clock.now(), steps=[new_step(1, approvers=("carol", "bob"))]
        )
        first_steps = await steps_for_case(conn, first)
        third_steps = await steps_for_case(conn, third)
        queue = await open_steps_for(conn, "bob")
    assert queue == [(first, first_steps[0].id), (third, third_steps[0].id)]


async def test_replace_assignments_reroutes_a_step(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        case_id = await create_case(conn, clock.now(), steps=[new_step(1, approvers=("bob",))])
    step = await _step(db, case_id)

    async with db.transaction() as conn:
        await replace_assignments(conn, step, ["erin", "dave"])

    assert (await _step(db, case_id)).approvers == ("erin", "dave")
    async with db.reading() as conn:
        assert await open_steps_for(conn, "bob") == []
        assert await open_steps_for(conn, "erin") == [(case_id, step.id)]


async def test_lookups_by_idempotency_key_external_id_and_requester(
    db: Database, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        keyed = await create_case(conn, clock.now(), idempotency_key="key-1")
        external = await create_case(conn, clock.now(), source="erp", external_id="INV-9")
        closed = await create_case(conn, clock.now(), requester="bob", status=CaseStatus.REJECTED)
        by_key = await find_by_idempotency_key(conn, "key-1")
        by_external = await find_by_external_id(conn, "erp", "INV-9")
        wrong_source = await find_by_external_id(conn, "feed", "INV-9")
        alices = await cases_requested_by(conn, "alice")
        bobs_pending = await cases_requested_by(conn, "bob", CaseStatus.PENDING)
        counts = await count_by_status(conn)

    assert by_key is not None
    assert by_key.id == keyed
    assert by_external is not None
    assert by_external.id == external
    assert wrong_source is None
    assert [c.id for c in alices] == [external, keyed]  # newest first
    assert bobs_pending == []
    assert counts == {"pending": 2, "rejected": 1}
    assert closed not in {c.id for c in alices}


async def test_a_second_case_with_the_same_idempotency_key_is_refused(
    db: Database, clock: ManualClock
) -> None:
    async with db.transaction() as conn:
        await create_case(conn, clock.now(), idempotency_key="key-1")

    async def file_again() -> None:
        async with db.transaction() as conn:
            await create_case(conn, clock.now(), idempotency_key="key-1")

    with pytest.raises(IntegrityError):
        await file_again()
    async with db.reading() as conn:
        assert await count_by_status(conn) == {"pending": 1}

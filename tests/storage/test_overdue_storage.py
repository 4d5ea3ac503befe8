"""The sweep's claims on steps, absences, and migration 0003 on a database with open steps."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import text

from handlers.clock import ManualClock
from storage import absences, overdue
from storage.cases import steps_for_case
from storage.database import Database
from storage.migrate import upgrade
from storage.overdue import ClaimedStep
from storage.records import StepStatus
from tests.storage.factories import create_case, new_step

LEASE = timedelta(minutes=2)
HOUR = timedelta(hours=1)


async def _steps(db: Database, clock: ManualClock, *offsets: timedelta | None) -> list[int]:
    """One case per offset, with an open step whose next action is now + offset (None: none)."""
    ids = []
    async with db.transaction() as conn:
        for offset in offsets:
            at = None if offset is None else clock.now() + offset
            case_id = await create_case(conn, clock.now(), steps=[new_step(next_action_at=at)])
            ids.append((await steps_for_case(conn, case_id))[0].id)
    return ids


async def _claim(db: Database, clock: ManualClock, owner: str, limit: int = 10) -> list[int]:
    async with db.transaction() as conn:
        claimed = await overdue.claim_due_steps(conn, clock.now(), owner, LEASE, limit)
    return [c.step_id for c in claimed]


async def test_only_due_open_unclaimed_steps_are_claimed_most_overdue_first(
    db: Database, clock: ManualClock
) -> None:
    late, due_now, future, never = await _steps(db, clock, -HOUR, timedelta(0), HOUR, None)
    async with db.transaction() as conn:
        closed_case = await create_case(
            conn,
            clock.now(),
            steps=[new_step(status=StepStatus.APPROVED, next_action_at=clock.now() - HOUR)],
        )
        claimed = await overdue.claim_due_steps(conn, clock.now(), "a", LEASE, 10)

    assert claimed[0].step_id == late
    assert [c.step_id for c in claimed] == [late, due_now]
    assert all(c.case_id != closed_case for c in claimed)
    assert future not in [c.step_id for c in claimed]
    assert never not in [c.step_id for c in claimed]
    assert await _claim(db, clock, "b") == []  # claimed by a: skipped


async def test_the_limit_bounds_a_claim(db: Database, clock: ManualClock) -> None:
    await _steps(db, clock, -HOUR, -HOUR, -HOUR)
    assert len(await _claim(db, clock, "a", limit=2)) == 2
    assert len(await _claim(db, clock, "b", limit=2)) == 1


async def test_a_claim_runs_out_and_is_taken_over(db: Database, clock: ManualClock) -> None:
    (step_id,) = await _steps(db, clock, -HOUR)
    assert await _claim(db, clock, "crashed") == [step_id]

    clock.advance(LEASE - timedelta(seconds=1))
    assert await _claim(db, clock, "alive") == []
    clock.advance(timedelta(seconds=1))
    assert await _claim(db, clock, "alive") == [step_id]

    async with db.transaction() as conn:
        assert await overdue.holds_claim(conn, step_id, "alive", clock.now())
        assert not await overdue.holds_claim(conn, step_id, "crashed", clock.now())
        await overdue.release(conn, step_id, "crashed")  # not theirs any more: no effect
        assert await overdue.holds_claim(conn, step_id, "alive", clock.now())
        await overdue.release(conn, step_id, "alive")
        assert not await overdue.holds_claim(conn, step_id, "alive", clock.now())
    assert await _claim(db, clock, "other") == [step_id]


async def test_simultaneous_claims_never_share_a_step(db: Database, clock: ManualClock) -> None:
    steps = await _steps(db, clock, *[-HOUR] * 20)

    results = await asyncio.gather(*[_claim(db, clock, f"s{i}", limit=7) for i in range(4)])

    claimed = [step for result in results for step in result]
    assert sorted(claimed) == sorted(steps)


async def test_claimed_steps_name_their_case(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        case_id = await create_case(conn, clock.now(), steps=[new_step(next_action_at=clock.now())])
        (claimed,) = await overdue.claim_due_steps(conn, clock.now(), "a", LEASE, 5)
        step = (await steps_for_case(conn, case_id))[0]
    assert claimed == ClaimedStep(step.id, case_id)
    assert step.next_action_at == clock.now()
    assert (step.reminders_sent, step.timeout_level, step.escalated_at) == (0, 0, None)


async def test_absences_start_end_and_run_out(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    async with db.transaction() as conn:
        await absences.start_absence(
            conn, person="lee", until=now + 2 * HOUR, delegate="sam", set_by="lee", now=now
        )
        first = await absences.active_absence(conn, "lee", now)
        # a second absence replaces the first
        await absences.start_absence(
            conn, person="lee", until=now + 3 * HOUR, delegate="dana", set_by="lee", now=now
        )
        assert await absences.away_now(conn, now) == {"lee": "dana"}
        assert first is not None
        assert first.delegate == "sam"
    async with db.reading() as conn:
        assert await absences.away_now(conn, now + 3 * HOUR) == {}  # ran out
    async with db.transaction() as conn:
        assert await absences.end_absence(conn, "lee", now + HOUR)
        assert not await absences.end_absence(conn, "lee", now + HOUR)
        assert await absences.away_now(conn, now + HOUR) == {}
        rows = (await conn.execute(text("SELECT count(*) FROM absences"))).scalar_one()
    assert rows == 2  # ended absences are kept as a record


async def test_migration_0003_gives_open_steps_a_next_action(
    database_url: str, clock: ManualClock
) -> None:
    db = Database.from_url(database_url)
    try:
        await upgrade(db, "0002")
        async with db.transaction() as conn:
            await conn.execute(
                text(
                    "INSERT INTO cases (id, status, code, title, requester, request, outcome, "
                    "rules, skipped_rules, flags, rationale_required, policy_version, "
                    "request_hash, created_at, updated_at, version) VALUES (1, 'pending', 'X', "
                    "'t', 'rita', '{}', 'route', '[]', '[]', '[]', false, 'v', 'h', :at, :at, 1)"
                ),
                {"at": clock.now().replace(tzinfo=None)},
            )
            for position, status in ((1, "open"), (2, "waiting")):
                await conn.execute(
                    text(
                        "INSERT INTO steps (case_id, position, tier, mode, required, status, "
                        "due_at, policy_version, version) VALUES (1, :position, 't', 'any', 1, "
                        ":status, :due, 'v', 1)"
                    ),
                    {
                        "position": position,
                        "status": status,
                        "due": clock.now().replace(tzinfo=None),
                    },
                )
        await upgrade(db)
        async with db.reading() as conn:
            first, second = await steps_for_case(conn, 1)
    finally:
        await db.dispose()
    assert first.next_action_at == first.due_at == clock.now()
    assert second.next_action_at is None
    assert (first.reminders_sent, first.timeout_level) == (0, 0)

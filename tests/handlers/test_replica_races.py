"""What replicas may do at the same moment, on real SQLite and PostgreSQL (where writers run
side by side): a proposal decided twice lands once, two proposals approved at once leave one
active version, replicas starting together import the policy file once, two people going
away naming each other cannot both, a filing and its approver going away at once still hand
the step over, and the daily digest goes out once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import cast

import pytest
from sqlalchemy import func, select

from bot.chat_commands import policy_resolver
from bot.policy_chat import parse_policy_command
from handlers.absence import go_away
from handlers.clock import ManualClock
from handlers.commands import GoAway, PolicyCommand
from handlers.context import Actor, Services
from handlers.digest import send_digests
from handlers.errors import Conflict, DomainError
from handlers.policy_admin import run_policy_command
from handlers.policy_versions import bootstrap
from handlers.queries import case_details
from policy.loader import load_policy, parse_policy
from storage import audit
from storage.database import Database
from storage.tables import audit_events, outbox, policy_versions
from tests.conftest import TEST_POLICY
from tests.handlers.conftest import file, person
from tests.handlers.test_digest import POLICY as DIGEST_POLICY

# The test policy with three admins: one proposes, two others may approve.
TEXT = (
    TEST_POLICY.read_text(encoding="utf-8")
    .replace("manager: carl, slack: U0MARIA}", "manager: carl, slack: U0MARIA, roles: [admin]}")
    .replace("email: carl@acme.example}", "email: carl@acme.example, roles: [admin]}")
)
NEXT_WEEK = date(2026, 3, 9)


async def _say(svc: Services, who: str, text: str) -> str | DomainError:
    command = cast(PolicyCommand, parse_policy_command(text, policy_resolver(svc.policy)))
    try:
        return (await run_policy_command(svc, Actor(who, "console"), command)).text
    except DomainError as error:
        return error


async def _scalar(db: Database, query: object) -> int:
    async with db.reading() as conn:
        return int(await conn.scalar(query) or 0)  # type: ignore[call-overload]


async def _active_versions(db: Database) -> int:
    active = policy_versions.c.state == "active"
    return await _scalar(db, select(func.count()).select_from(policy_versions).where(active))


async def _verified(db: Database) -> None:
    async with db.reading() as conn:
        assert (await audit.verify(conn)).ok


@pytest.fixture
async def admins(db: Database, clock: ManualClock) -> Services:
    policy = await bootstrap(db, parse_policy(TEXT, "policy.yaml"), TEXT, clock)
    return Services(db, policy, clock)


def _replica(svc: Services) -> Services:
    """Another process on the same database (its own policy object, its own connections)."""
    return Services(svc.db, svc.policy, svc.clock)


async def _proposal(svc: Services, who: str, sla: str) -> str:
    assert isinstance(await _say(svc, who, f"set tier category-lead sla {sla}"), str)
    reply = await _say(svc, who, "propose a faster answer")
    assert isinstance(reply, str), reply
    return reply.split()[1].rstrip(";")  # "Proposed POL-000002; ..."


async def test_two_admins_approving_one_proposal_at_once_approve_it_once(
    admins: Services,
) -> None:
    ref = await _proposal(admins, "ada", "8h")

    results = await asyncio.gather(
        _say(admins, "maria", f"approve {ref} ok"), _say(_replica(admins), "carl", f"approve {ref}")
    )

    assert sum(isinstance(r, str) and "active policy now" in r for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert await _active_versions(admins.db) == 1
    approved = audit_events.c.action == "policy.approved"
    assert await _scalar(admins.db, select(func.count()).where(approved)) == 1
    await _verified(admins.db)


async def test_approve_and_reject_at_once_decide_once(admins: Services) -> None:
    ref = await _proposal(admins, "ada", "8h")

    results = await asyncio.gather(
        _say(admins, "maria", f"approve {ref}"),
        _say(_replica(admins), "carl", f"reject {ref} not now"),
    )

    assert sum(isinstance(r, str) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 1
    decided = audit_events.c.action.in_(["policy.approved", "policy.rejected"])
    assert await _scalar(admins.db, select(func.count()).where(decided)) == 1
    assert await _active_versions(admins.db) == 1


async def test_two_proposals_approved_at_once_leave_one_active_version(
    admins: Services,
) -> None:
    first = await _proposal(admins, "ada", "8h")
    second = await _proposal(admins, "maria", "6h")

    results = await asyncio.gather(
        _say(admins, "carl", f"approve {first}"), _say(_replica(admins), "ada", f"approve {second}")
    )

    assert sum(isinstance(r, str) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert await _active_versions(admins.db) == 1
    await _verified(admins.db)


async def test_replicas_starting_together_import_the_file_once(
    db: Database, clock: ManualClock
) -> None:
    policy = parse_policy(TEXT, "policy.yaml")

    started = await asyncio.gather(*(bootstrap(db, policy, TEXT, clock) for _ in range(4)))

    assert {p.version for p in started} == {policy.version}
    assert await _active_versions(db) == 1
    imported = audit_events.c.action == "policy.imported"
    assert await _scalar(db, select(func.count()).where(imported)) == 1


async def test_two_people_going_away_naming_each_other_cannot_both(services: Services) -> None:
    async def away(who: str, delegate: str) -> object:
        try:
            return await go_away(services, person(who), GoAway(NEXT_WEEK, delegate))
        except DomainError as error:
            return error

    results = await asyncio.gather(away("lee", "dana"), away("dana", "lee"))

    assert sum(isinstance(r, Conflict) for r in results) == 1


async def test_a_filing_beside_its_approver_going_away_is_handed_over(
    services: Services,
) -> None:
    """The filing routes to lee and dana; lee goes away at that moment. Either the filing
    commits first and lee's place is handed over, or it sees lee away: never left with lee."""
    filed, _ = await asyncio.gather(
        file(services), go_away(services, person("lee"), GoAway(NEXT_WEEK, "sam"))
    )

    details = await case_details(services, filed.case.id)
    assert "lee" not in details.steps[0].approvers


async def test_replicas_sending_the_digest_at_once_send_it_once(
    db: Database, clock: ManualClock
) -> None:
    svc = Services(db, load_policy(DIGEST_POLICY), clock)
    clock.set(datetime(2026, 3, 2, 8, tzinfo=UTC))
    await file(svc)
    clock.set(datetime(2026, 3, 2, 9, 5, tzinfo=UTC))  # after Monday's 09:00 digest time

    sent = await asyncio.gather(*(send_digests(_replica(svc)) for _ in range(3)))

    digests = outbox.c.kind == "digest"
    queued = await _scalar(db, select(func.count()).select_from(outbox).where(digests))
    assert queued == max(sent) > 0
    assert sorted(sent)[:-1] == [0, 0]  # one replica sent them all

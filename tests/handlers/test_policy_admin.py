"""Governing the policy from chat: a draft edited, diffed, proposed, approved by a second
admin and in force on another process; four eyes, self-granted roles and the two-admin floor
refused; roles checked and refusals audited; rollback (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import cast

import pytest

from bot.chat_commands import UsageError, policy_resolver
from bot.policy_chat import parse_policy_command
from handlers.clock import ManualClock
from handlers.commands import PolicyCommand
from handlers.context import Actor, Services
from handlers.errors import DomainError, NotAllowed
from handlers.policy_admin import run_policy_command
from handlers.policy_versions import bootstrap, follow
from policy.loader import parse_policy
from storage import audit
from storage.database import Database
from tests.conftest import TEST_POLICY
from tests.handlers.conftest import file, outbox_rows

# The test policy with a second admin (maria), as four eyes needs.
TEXT = TEST_POLICY.read_text(encoding="utf-8").replace(
    "manager: carl, slack: U0MARIA}", "manager: carl, slack: U0MARIA, roles: [admin]}"
)


@pytest.fixture
async def admin_svc(db: Database, clock: ManualClock) -> Services:
    policy = await bootstrap(db, parse_policy(TEXT, "policy.yaml"), TEXT, clock)
    assert {"ada", "maria"} <= {p.id for p in policy.people.values() if p.roles}
    return Services(db, policy, clock)


def _command(svc: Services, text: str) -> PolicyCommand:
    command = parse_policy_command(text, policy_resolver(svc.policy))
    return cast(PolicyCommand, command)


async def say(svc: Services, who: str, text: str) -> str:
    return (await run_policy_command(svc, Actor(who, "console"), _command(svc, text))).text


async def _actions(svc: Services) -> list[str]:
    async with svc.db.reading() as conn:
        return [e.action async for e in audit.stream_events(conn)]


async def test_a_change_from_draft_to_in_force_on_another_process(
    admin_svc: Services, clock: ManualClock
) -> None:
    replica = Services(admin_svc.db, admin_svc.policy, clock)
    assert "sla = 8h" in await say(admin_svc, "ada", "set tier category-lead sla 8h")
    changes = await say(admin_svc, "ada", "diff")
    assert "-  sla: 4h" in changes
    assert "+  sla: 8h" in changes

    reply = await say(admin_svc, "ada", "propose approvers need a working day")
    assert reply == "Proposed POL-000002; Maria Finance may approve it."
    cards = [who for kind, who, _ in await outbox_rows(admin_svc.db) if kind == "policy_card"]
    assert cards == ["maria"]  # the card: tests/handlers/test_policy_cards.py

    with pytest.raises(NotAllowed, match="four eyes"):
        await say(admin_svc, "ada", "approve POL-000002")
    assert "is the active policy now" in await say(admin_svc, "maria", "approve POL-000002 ok")

    assert admin_svc.policy.tier("category-lead").sla.total_seconds() == 8 * 3600
    assert await follow(replica) is True  # the other process follows
    assert replica.policy.version == admin_svc.policy.version
    assert (await _actions(admin_svc))[-4:] == [
        "policy.proposed",
        "policy.refused",  # ada's own approval
        "policy.approved",
        "policy.activated",
    ]
    history = await say(admin_svc, "aud", "history")  # auditors may look
    assert "POL-000002 active" in history
    assert "approved by Maria Finance" in history


@pytest.mark.parametrize(
    "text",
    [
        "show",
        "history",
        "set tier category-lead sla 8h",
        "propose because",
        "approve POL-000001",
        "rollback POL-000001 back",
    ],
)
async def test_someone_without_the_role_is_refused_and_it_is_audited(
    admin_svc: Services, text: str
) -> None:
    with pytest.raises(NotAllowed, match="Only a policy"):
        await say(admin_svc, "lee", text)
    assert (await _actions(admin_svc))[-1] == "policy.refused"


async def test_an_auditor_may_look_but_not_edit(admin_svc: Services) -> None:
    assert "Active policy" in await say(admin_svc, "aud", "show tier category-lead")
    with pytest.raises(NotAllowed, match="Only a policy admin"):
        await say(admin_svc, "aud", "set tier category-lead sla 8h")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("set tier nope sla 8h", "there is no tier 'nope'"),
        ("set tier category-lead sla soon", "sla"),
        ("set tier category-lead approvers nobody@nowhere.example", "I don't know who"),
        ("set rule high-value when amount >", "rules[high-value].when"),
        ("set rule high-value color red", "a rule's fields are"),
    ],
)
async def test_a_bad_edit_says_why_and_changes_nothing(
    admin_svc: Services, text: str, says: str
) -> None:
    with pytest.raises((DomainError, UsageError)) as refused:
        await say(admin_svc, "ada", text)
    assert says in str(getattr(refused.value, "message", refused.value))
    assert await say(admin_svc, "ada", "diff") == "You have no draft: /policy set ... starts one."


async def test_nobody_approves_a_change_of_their_own_roles(admin_svc: Services) -> None:
    await say(admin_svc, "ada", "set person maria roles admin auditor")
    await say(admin_svc, "ada", "propose maria audits too")
    with pytest.raises(NotAllowed, match="your own roles"):
        await say(admin_svc, "maria", "approve POL-000002")
    assert (await _actions(admin_svc))[-1] == "policy.refused"


async def test_a_change_leaving_one_admin_is_refused(admin_svc: Services) -> None:
    await say(admin_svc, "ada", "set person maria roles none")
    with pytest.raises(NotAllowed, match="fewer than two admins"):
        await say(admin_svc, "ada", "propose maria steps down")


async def test_a_rejection_needs_a_reason_and_a_rollback_proposes_the_old_version(
    admin_svc: Services,
) -> None:
    original = admin_svc.policy.version
    await say(admin_svc, "ada", "set tier category-lead sla 8h")
    await say(admin_svc, "ada", "propose longer")
    await say(admin_svc, "maria", "approve POL-000002")
    assert admin_svc.policy.version != original

    assert (await say(admin_svc, "ada", "rollback POL-000001 too slow")).startswith(
        "Proposed POL-000003"
    )
    with pytest.raises(UsageError):  # a rejection without a reason is not a command
        _command(admin_svc, "reject POL-000003")
    with pytest.raises(UsageError):  # nor a proposal without one
        _command(admin_svc, "propose ")
    await say(admin_svc, "maria", "approve POL-000003 fine")
    assert admin_svc.policy.version == original


async def test_a_draft_is_backtested_from_chat_against_the_version_that_decided(
    admin_svc: Services,
) -> None:
    assert (await say(admin_svc, "ada", "backtest")).startswith("You have no draft")
    await file(admin_svc, amount=30000.0)  # high-value: category-lead, then finance-director
    await file(admin_svc, amount=1200.0, title="Small one")  # the default route
    await say(admin_svc, "ada", "set rule high-value when amount > 50000.0")

    report = await say(admin_svc, "ada", "backtest 7d")

    assert report.startswith("Your draft on the last 7 days of cases:")
    assert report.splitlines()[1].startswith("2 cases backtested: 1 would change")
    assert "EXC-000001" in report
    assert "EXC-000002" not in report

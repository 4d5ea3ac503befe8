"""A proposal's cards through the outbox: the card message to every other admin, carrying the
diff and the backtest summary computed when it was proposed; the decision (or a later version
superseding it) updating every card in the same transaction; the view read back from the
store; and the console printing the card with the commands to type (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from bot.console import ButtonBoard, ConsoleMessenger
from bot.delivery import OutboxDeliverer
from bot.proposal_views import load_proposal_view
from handlers.clock import ManualClock
from handlers.commands import PolicyDecide
from handlers.context import Actor, Services
from handlers.errors import InvalidRequest
from handlers.policy_admin import run_policy_command
from handlers.policy_review import summary_lines
from handlers.policy_versions import bootstrap
from policy.backtest import BacktestReport, TierLoad
from policy.loader import parse_policy
from storage import policy_cards
from storage.database import Database
from storage.policy_cards import PolicyCardRef
from storage.tables import outbox
from tests.handlers.conftest import file
from tests.handlers.test_policy_admin import TEXT, say


@pytest.fixture
async def admin_svc(db: Database, clock: ManualClock) -> Services:
    policy = await bootstrap(db, parse_policy(TEXT, "policy.yaml"), TEXT, clock)
    return Services(db, policy, clock)


async def _messages(svc: Services, kind: str) -> list[tuple[str | None, dict[str, Any]]]:
    async with svc.db.reading() as conn:
        rows = await conn.execute(
            select(outbox.c.recipient, outbox.c.payload)
            .where(outbox.c.kind == kind)
            .order_by(outbox.c.id)
        )
        return [(row.recipient, row.payload) for row in rows]


async def test_a_proposal_sends_each_other_admin_a_card_with_diff_and_backtest(
    admin_svc: Services,
) -> None:
    await file(admin_svc, amount=30000.0)  # high-value: category-lead, then finance-director
    await say(admin_svc, "ada", "set rule high-value when amount > 50000.0")
    await say(admin_svc, "ada", "propose fewer high-value cases")

    [(recipient, payload)] = await _messages(admin_svc, "policy_card")
    assert recipient == "maria"  # not ada, who proposed it
    assert payload["policy_version_id"] == 2
    proposal = payload["proposal"]
    assert proposal["reason"] == "fewer high-value cases"
    assert "+  when: amount > 50000.0" in proposal["diff"]
    assert proposal["backtest"][0] == (
        "Backtest on the last 30 days: 1 cases replayed, 1 would change."
    )
    assert "finance-director 1→0" in proposal["backtest"][1]

    view = await load_proposal_view(admin_svc, 2)
    assert view is not None
    assert (view.ref, view.proposer, view.state) == ("POL-000002", "Ada Admin", "proposed")
    assert view.backtest == tuple(proposal["backtest"])
    assert [b.value for b in view.buttons] == ["policy:2", "policy:2"]


async def test_a_rejection_updates_the_cards_in_its_transaction(admin_svc: Services) -> None:
    await say(admin_svc, "ada", "set tier category-lead sla 8h")
    await say(admin_svc, "ada", "propose longer")
    with pytest.raises(InvalidRequest):  # a reason is needed...
        await run_policy_command(admin_svc, Actor("maria", "slack"), PolicyDecide(2, False, " "))
    assert await _messages(admin_svc, "policy_update") == []  # ...and nothing was sent

    await say(admin_svc, "maria", "reject POL-000002 not before the audit")

    [(_, update)] = await _messages(admin_svc, "policy_update")
    assert update["policy_version_id"] == 2
    assert (
        update["text"] == "Rejected by Maria Finance at 2026-03-02 09:00 UTC: not before the audit"
    )
    view = await load_proposal_view(admin_svc, 2)
    assert view is not None
    assert (view.state, view.buttons, view.reason) == ("rejected", (), "longer")
    assert view.decision == update["text"]


async def test_an_approval_and_a_later_activation_update_the_cards(
    admin_svc: Services, db: Database, clock: ManualClock
) -> None:
    await say(admin_svc, "ada", "set tier category-lead sla 8h")
    await say(admin_svc, "ada", "propose longer")
    await say(admin_svc, "maria", "approve POL-000002 fine by me")
    await say(admin_svc, "maria", "set tier category-lead sla 6h")
    await say(admin_svc, "maria", "propose a bit shorter")
    await say(admin_svc, "ada", "approve POL-000003")

    updates = [
        (p["policy_version_id"], p["text"]) for _, p in await _messages(admin_svc, "policy_update")
    ]
    assert updates == [
        (2, "Approved by Maria Finance at 2026-03-02 09:00 UTC: fine by me"),
        (3, "Approved by Ada Admin at 2026-03-02 09:00 UTC."),
        (2, "Approved by Maria Finance; superseded by POL-000003."),
    ]
    view = await load_proposal_view(admin_svc, 2)
    assert view is not None
    assert (view.state, view.buttons) == ("superseded", ())

    changed = TEXT.replace("sla: 4h", "sla: 5h")  # the file changes: it supersedes POL-000003
    await bootstrap(db, parse_policy(changed, "policy.yaml"), changed, clock)
    last = (await _messages(admin_svc, "policy_update"))[-1][1]
    assert (last["policy_version_id"], last["text"]) == (
        3,
        "Approved by Ada Admin; superseded by POL-000004.",
    )


async def test_a_version_never_proposed_has_no_card(admin_svc: Services) -> None:
    assert await load_proposal_view(admin_svc, 1) is None  # imported from the file
    assert await load_proposal_view(admin_svc, 99) is None


async def test_card_refs_are_saved_once_per_person_and_platform(admin_svc: Services) -> None:
    await say(admin_svc, "ada", "set tier category-lead sla 8h")
    await say(admin_svc, "ada", "propose longer")
    now = admin_svc.clock.now()
    async with admin_svc.db.transaction() as conn:
        await policy_cards.save_ref(conn, PolicyCardRef(2, "maria", "slack", "D1", "1.0"), now)
        await policy_cards.save_ref(conn, PolicyCardRef(2, "maria", "slack", "D1", "2.0"), now)
        await policy_cards.save_ref(conn, PolicyCardRef(2, "maria", "teams", "a:1", "9"), now)
    async with admin_svc.db.reading() as conn:
        refs = await policy_cards.refs_for(conn, 2)
    assert [(r.platform, r.message_id) for r in refs] == [("slack", "2.0"), ("teams", "9")]


async def test_the_console_prints_the_card_and_its_update(admin_svc: Services) -> None:
    out = io.StringIO()
    deliverer = OutboxDeliverer(admin_svc, [ConsoleMessenger(out, ButtonBoard())])
    await say(admin_svc, "ada", "set tier category-lead sla 8h")
    await say(admin_svc, "ada", "propose longer")
    await deliverer.deliver_due()
    posted = out.getvalue()
    assert "→ policy card for Maria Finance (maria):" in posted
    assert "/policy approve POL-000002 [note]" in posted
    assert "+  sla: 8h" in posted

    await say(admin_svc, "maria", "approve POL-000002")
    await deliverer.deliver_due()
    updated = out.getvalue()[len(posted) :]
    assert "↻ policy card updated for Maria Finance (maria):" in updated
    assert "Decision: Approved by Maria Finance" in updated
    assert "/policy approve" not in updated


def test_the_summary_names_changed_tiers_first() -> None:
    load = {f"t{i}": TierLoad(i, i) for i in range(10)} | {"moved": TierLoad(3, 1)}
    head, tiers = summary_lines(BacktestReport(cases=7, changes=(), load=load), 30)
    assert head == "Backtest on the last 30 days: 7 cases replayed, 0 would change."
    assert tiers.startswith("Load per tier: moved 3→1, t0 0→0")
    assert tiers.endswith(", 3 more tiers.")
    assert summary_lines(BacktestReport(cases=0, changes=(), load={}), 7) == (
        "Backtest on the last 7 days: 0 cases replayed, 0 would change.",
    )

"""The remediation loop through the handlers, on SQLite and PostgreSQL: an item opens in the
filing that reaches the code's threshold (not before, not again), per supplier, with its
evidence; its reminders and escalation on its SLA; acknowledging and closing (a close needs
the root cause and fix; refusals are audited and change nothing); the report's before and
after frequency; the chat command."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.chat_commands import UsageError, parse_approvals_command, policy_resolver
from bot.conversation import run_command
from handlers.clock import ManualClock
from handlers.context import Services
from handlers.errors import Conflict, NotAllowed, NotFound, RationaleRequired
from handlers.remediation import acknowledge_item, close_item, items_for
from handlers.remediation_sweep import sweep_remediation
from handlers.reports import program_report
from policy.kpi_text import report_text
from policy.loader import load_policy
from policy.model import Policy
from policy.remediation import ItemStatus
from storage import audit
from storage import remediation as items
from storage.audit_content import verify_contents
from storage.database import Database
from storage.tables import audit_events
from tests.handlers.conftest import counts, file, outbox_rows, person

POLICY = Path(__file__).parent.parent / "data" / "remediation.yaml"
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def remediation_policy() -> Policy:
    return load_policy(POLICY)


@pytest.fixture
def rem(db: Database, remediation_policy: Policy, clock: ManualClock) -> Services:
    return Services(db=db, policy=remediation_policy, clock=clock)


_INVOICES = itertools.count(1)


async def _price(svc: Services, **fields: Any) -> str:
    """A new PRICE_MISMATCH case each time (another invoice: not a repeated filing)."""
    data: dict[str, Any] = {
        "code": "PRICE_MISMATCH",
        "title": f"Invoice INV-{next(_INVOICES)} above the PO",
        "supplier": {"name": "Acme"},
        "cost_center": "CC-100",
        **fields,
    }
    return (await file(svc, **data)).case.ref


async def _all(svc: Services) -> list[Any]:
    async with svc.db.reading() as conn:
        return await items.list_items(conn, open_only=False)


async def _events(svc: Services, ref: str) -> list[tuple[str, str, str | None]]:
    async with svc.db.reading() as conn:
        rows = await conn.execute(
            select(audit_events.c.action, audit_events.c.actor, audit_events.c.rationale)
            .where(audit_events.c.case_ref == ref)
            .order_by(audit_events.c.seq)
        )
        return [(r.action, r.actor, r.rationale) for r in rows]


async def test_an_item_opens_at_the_nth_case_and_not_again(rem: Services) -> None:
    await _price(rem)
    await _price(rem, amount=800.0)
    assert await _all(rem) == []
    third = await _price(rem, amount=500.0, currency="USD", cost_center="CC-200")
    [item] = await _all(rem)
    assert item.ref == "REM-000001"
    assert item.owner == "lee"
    assert item.status is ItemStatus.OPEN
    assert item.evidence.cases[-1] == third
    assert len(item.evidence.cases) == 3
    assert item.evidence.suppliers == ("Acme",)
    assert item.evidence.cost_centers == ("CC-100", "CC-200")
    assert item.evidence.leakage == {"EUR": 2000.0, "USD": 500.0}
    assert item.evidence.playbook == "https://wiki.acme.example/playbooks/price-mismatch"
    assert await _events(rem, "REM-000001") == [("remediation.opened", "system:policy", None)]
    rows = await outbox_rows(rem.db)
    assert ("rem_card", "lee", None) in rows
    await _price(rem)  # the fourth: one is open already
    assert len(await _all(rem)) == 1


async def test_per_supplier_counts_each_supplier_on_its_own(rem: Services) -> None:
    await file(rem, supplier={"name": "Acme"})
    await file(rem, supplier={"name": "Beta"})
    await file(rem, title="No supplier named")  # no key to count under
    assert await _all(rem) == []
    await file(rem, supplier={"name": "Acme"}, title="Monitors from a new reseller")
    [item] = await _all(rem)
    assert (item.code, item.per_field, item.per_value, item.owner) == (
        "OFF_CONTRACT",
        "supplier",
        "Acme",
        "sam",
    )
    assert item.evidence.cases == ("EXC-000001", "EXC-000004")


async def test_after_a_close_the_count_starts_again(rem: Services, clock: ManualClock) -> None:
    for _ in range(3):
        await _price(rem)
    clock.advance(timedelta(hours=1))
    await close_item(rem, person("lee"), 1, "stale price list; nightly sync added")
    clock.advance(timedelta(hours=1))
    await _price(rem)
    await _price(rem)
    assert len(await _all(rem)) == 1  # the three before the close do not count again
    await _price(rem)
    assert [i.status for i in await _all(rem)] == [ItemStatus.CLOSED, ItemStatus.OPEN]


async def test_its_sla_reminders_and_escalation(rem: Services, clock: ManualClock) -> None:
    for _ in range(3):
        await _price(rem)
    assert await sweep_remediation(rem, "one") == 0  # nothing due yet
    clock.set(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    assert await sweep_remediation(rem, "one") == 1
    assert await sweep_remediation(rem, "two") == 0  # once, whoever sweeps
    clock.set(datetime(2026, 3, 5, 9, 0, tzinfo=UTC))  # Wednesday was a holiday
    assert await sweep_remediation(rem, "one") == 1
    clock.set(datetime(2026, 3, 6, 9, 0, tzinfo=UTC))  # due, and reminded again
    assert await sweep_remediation(rem, "one") == 1
    kinds = [kind for kind, _, _ in await _events(rem, "REM-000001")]
    assert kinds == [
        "remediation.opened",
        "remediation.reminded",
        "remediation.escalated",
        "remediation.reminded",
    ]
    rows = await outbox_rows(rem.db)
    assert any(r == ("rem_card", "maria", None) for r in rows)  # the manager gets the card
    texts = [text or "" for kind, who, text in rows if kind == "notify" and who == "lee"]
    assert any(t.startswith("Reminder: REM-000001") for t in texts)
    assert any("was due" in t for t in texts)


async def test_acknowledge_and_close_with_a_rationale(rem: Services) -> None:
    for _ in range(3):
        await _price(rem)
    result = await acknowledge_item(rem, person("lee"), 1)
    assert result.item.status is ItemStatus.ACKNOWLEDGED
    with pytest.raises(Conflict):
        await acknowledge_item(rem, person("lee"), 1)
    closed = await close_item(rem, person("maria"), 1, "  supplier price file was stale  ")
    assert closed.item.status is ItemStatus.CLOSED
    assert closed.item.closed_by == "maria"
    assert closed.item.root_cause == "supplier price file was stale"
    assert closed.item.next_action_at is None
    assert (await _events(rem, "REM-000001"))[-1] == (
        "remediation.closed",
        "maria",
        "supplier price file was stale",
    )
    with pytest.raises(Conflict):
        await close_item(rem, person("lee"), 1, "again")
    async with rem.db.reading() as conn:  # the lifecycle is on the chain, which still holds
        assert (await audit.verify(conn)).ok
        assert (await verify_contents(conn)).ok


async def test_closing_without_a_rationale_changes_nothing(rem: Services) -> None:
    for _ in range(3):
        await _price(rem)
    before = await counts(rem.db)
    for empty in (None, "", "   "):
        with pytest.raises(RationaleRequired):
            await close_item(rem, person("lee"), 1, empty)
    assert await counts(rem.db) == before
    assert (await _all(rem))[0].status is ItemStatus.OPEN


async def test_refusals_are_audited_and_change_nothing(rem: Services) -> None:
    for _ in range(3):
        await _price(rem)
    with pytest.raises(NotAllowed):
        await close_item(rem, person("dana"), 1, "not mine to close")
    with pytest.raises(NotAllowed):
        await acknowledge_item(rem, person("aud"), 1)
    assert (await _all(rem))[0].status is ItemStatus.OPEN
    refused = [e for e in await _events(rem, "REM-000001") if e[0] == "remediation.refused"]
    assert [who for _, who, _ in refused] == ["dana", "aud"]
    with pytest.raises(NotFound):
        await acknowledge_item(rem, person("lee"), 99)
    assert [i.ref for i in await items_for(rem, "dana")] == []
    assert [i.ref for i in await items_for(rem, "aud")] == ["REM-000001"]


async def test_the_report_shows_the_frequency_before_and_after(
    rem: Services, clock: ManualClock
) -> None:
    for _ in range(3):
        await _price(rem)  # Monday 09:00
    clock.advance(timedelta(days=2))
    await close_item(rem, person("lee"), 1, "price file synced nightly")
    clock.advance(timedelta(days=7))
    await _price(rem)  # one case in the 10 days after the close
    clock.advance(timedelta(days=3))
    report = await program_report(rem, MONDAY - timedelta(days=1))
    figures = report.as_dict()["remediation"]["REM-000001"]
    assert figures["before_per_day"] == round(3 / 30, 3)  # the 30d window before the close
    assert figures["after_per_day"] == 0.1
    assert figures["after_days"] == 10.0
    assert "REM-000001 PRICE_MISMATCH" in report_text(report)
    assert ("remediation.before_per_day", "REM-000001", "0.1") in report.csv_rows()


async def test_the_chat_command(rem: Services) -> None:
    for _ in range(3):
        await _price(rem)
    resolve = policy_resolver(rem.policy)

    async def say(who: str, text: str) -> str:
        return (await run_command(rem, person(who), parse_approvals_command(text, resolve))).text

    assert "REM-000001 (PRICE_MISMATCH: 3 cases)  open" in await say("lee", "remediation")
    assert "Cases: EXC-000001, EXC-000002, EXC-000003" in await say("lee", "remediation show REM-1")
    assert "There is no remediation item" in await say("dana", "remediation show REM-1")
    assert "root cause" in await say("lee", "remediation close REM-000001")
    assert (await _all(rem))[0].status is ItemStatus.OPEN
    assert (await say("lee", "remediation close REM-1 fixed the feed")).startswith("Closed")
    with pytest.raises(UsageError):
        parse_approvals_command("remediation close EXC-1 x", resolve)
    with pytest.raises(UsageError):
        parse_approvals_command("remediation frobnicate", resolve)

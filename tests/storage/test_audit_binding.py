"""The audit trail binds what was approved (SQLite and PostgreSQL): an edit of a case's
stored fields is found and named, and with a checkpoint kept outside the database, a log cut
off at its end (head rewritten to match) or deleted whole is caught."""

from __future__ import annotations

from sqlalchemy import text, update

from handlers.commands import Decide
from handlers.context import Services
from handlers.deciding import decide
from storage import audit
from storage.audit_checkpoint import Checkpoint, current, verify_checkpoint
from storage.audit_content import verify_contents
from storage.records import Action
from storage.tables import cases
from tests.handlers.conftest import file, person
from tests.storage.factories import allow_audit_tampering


async def test_filing_records_the_request_and_every_decision_the_content_it_decided(
    services: Services,
) -> None:
    case = (await file(services)).case
    await decide(services, person("lee"), Decide(case.id, Action.APPROVE))

    async with services.db.reading() as conn:
        events = await audit.events_for_case(conn, case.ref)
        report = await verify_contents(conn)
    filed = next(e for e in events if e.action == "case.filed")
    assert filed.data["request"] == case.request
    assert filed.data["request_hash"] == case.request_hash
    vote = next(e for e in events if e.action == "decision.approved")
    assert vote.data["case_hash"] == case.request_hash
    assert (report.ok, report.checked) == (True, 1)


async def test_an_edited_amount_or_supplier_is_named(services: Services) -> None:
    first = (await file(services, amount=1200.0)).case
    second = (await file(services, supplier={"name": "Acme"})).case
    async with services.db.transaction() as conn:
        await conn.execute(update(cases).where(cases.c.id == first.id).values(amount=12.0))
        await conn.execute(
            update(cases)
            .where(cases.c.id == second.id)
            .values(request={**second.request, "supplier": {"name": "Shell Co"}})
        )

    async with services.db.reading() as conn:
        chain = await audit.verify(conn)
        report = await verify_contents(conn)
    assert chain.ok  # the chain itself is untouched: only the binding can tell
    assert not report.ok
    found = {(p.case_ref, p.field) for p in report.problems}
    assert found == {("EXC-000001", "amount"), ("EXC-000002", "request")}
    amount = next(p for p in report.problems if p.field == "amount")
    assert str(amount) == (
        "EXC-000001: amount is 12.0 in the case but 1200.0 in its audit record (audit event 1)"
    )


async def test_a_truncated_tail_with_a_rewritten_head_passes_the_chain_but_not_a_checkpoint(
    services: Services,
) -> None:
    await file(services)
    async with services.db.reading() as conn:
        kept = await current(conn)
    await file(services, title="Another order")  # more events after the checkpoint was kept
    async with services.db.reading() as conn:
        assert await verify_checkpoint(conn, kept) is None
        later = await current(conn)

    # cut the second filing off the end and rewrite the head to the last remaining event
    async with services.db.transaction() as conn:
        await allow_audit_tampering(conn)
        await conn.execute(text("DELETE FROM audit_events WHERE seq > :seq"), {"seq": kept.seq})
        await conn.execute(
            text("UPDATE audit_head SET seq = :seq, hash = :hash"),
            {"seq": kept.seq, "hash": kept.hash},
        )
        await conn.execute(text("DELETE FROM outbox"))
        await conn.execute(text("DELETE FROM assignments WHERE case_id = 2"))
        await conn.execute(text("DELETE FROM steps WHERE case_id = 2"))
        await conn.execute(text("DELETE FROM cases WHERE id = 2"))

    async with services.db.reading() as conn:
        assert (await audit.verify(conn)).ok  # a chain alone cannot notice
        assert (await verify_contents(conn)).ok
        problem = await verify_checkpoint(conn, later)
    assert problem is not None
    assert "no longer holds" in problem


async def test_deleting_the_whole_log_is_caught_by_a_checkpoint(services: Services) -> None:
    await file(services)
    async with services.db.reading() as conn:
        kept = await current(conn)
    async with services.db.transaction() as conn:
        await allow_audit_tampering(conn)
        await conn.execute(text("DELETE FROM audit_events"))
        await conn.execute(text("DELETE FROM audit_head"))

    async with services.db.reading() as conn:
        assert (await audit.verify(conn)).ok
        assert await verify_checkpoint(conn, kept) is not None
        assert not (await verify_contents(conn)).ok  # the case has no recorded content now


def test_a_checkpoint_reads_back_and_refuses_garbage() -> None:
    point = Checkpoint(7, "a" * 64, "2026-03-02T09:00:00.000000Z")
    assert Checkpoint.parse(point.to_json()) == point
    for bad in ("", "[]", '{"seq": "7", "hash": "x"}', '{"seq": 7, "hash": "short"}'):
        try:
            Checkpoint.parse(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad!r}")

"""`/audit verify` and `/audit export` for auditors: who may, what the verification says of an
intact and of a tampered log, and what an export records (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from handlers.audit_chat import ExportRange, export_range, record_export, verify_audit_log
from handlers.audit_commands import AuditExport
from handlers.checkpoints import send_checkpoint
from handlers.context import Actor, Services
from handlers.errors import NotAllowed, NotFound
from storage import audit
from storage.database import Database
from storage.tables import audit_events, audit_head
from tests.conftest import START
from tests.handlers.conftest import counts, file, person
from tests.storage.factories import allow_audit_tampering


async def _last(db: Database) -> audit.AuditRecord:
    async with db.reading() as conn:
        return [e async for e in audit.stream_events(conn)][-1]


@pytest.mark.parametrize("who", ["aud", "ada"])
async def test_auditors_and_admins_verify_an_intact_log(services: Services, who: str) -> None:
    await file(services)
    before = await counts(services.db)

    reply = await verify_audit_log(services, person(who))

    async with services.db.reading() as conn:
        head = (await conn.execute(select(audit_head.c.seq, audit_head.c.hash))).one()
    lines = reply.splitlines()
    assert lines[0] == f"The audit log is intact: 3 events, head {head.hash[:12]} (event 3)."
    assert lines[1] == "1 cases match their audit record."
    assert lines[2] == "No checkpoint has been sent to the auditors yet."
    assert await counts(services.db) == before  # verifying records nothing


@pytest.mark.parametrize("who", ["rita", "lee", "nobody-at-all"])
async def test_anyone_else_is_refused_with_the_role_named_and_it_is_audited(
    services: Services, who: str
) -> None:
    await file(services)
    before = await counts(services.db)
    asks = [
        verify_audit_log(services, Actor(who, "slack", "U0X")),
        export_range(services, Actor(who, "slack", "U0X"), AuditExport()),
        record_export(services, Actor(who, "slack", "U0X"), ExportRange()),
    ]
    for ask in asks:
        with pytest.raises(NotAllowed, match="Only a policy admin or auditor can do that"):
            await ask

    after = await counts(services.db)
    assert after == {**before, "audit": before["audit"] + 3}  # the refusals, nothing else
    refusal = await _last(services.db)
    assert refusal.action == "audit.refused"
    assert refusal.actor == who
    assert refusal.rationale == "Only a policy admin or auditor can do that, and you are not one."
    assert refusal.data == {
        "attempted": "audit export download",
        "reason": refusal.rationale,
        "platform_user": "U0X",
    }
    async with services.db.reading() as conn:
        assert (await audit.verify(conn)).ok


async def test_verify_names_the_first_broken_event(services: Services) -> None:
    await file(services)
    async with services.db.transaction() as conn:
        await allow_audit_tampering(conn)
        await conn.execute(text("UPDATE audit_events SET rationale = 'forged' WHERE seq = 2"))

    reply = await verify_audit_log(services, person("aud"))

    assert reply.startswith(
        "The audit log is BROKEN at event 2: its content does not match its hash.\n"
        "1 events verified before it; head "
    )


async def test_verify_names_a_case_whose_content_was_edited(services: Services) -> None:
    await file(services)
    async with services.db.transaction() as conn:
        await conn.execute(text("UPDATE cases SET amount = 1.0 WHERE id = 1"))

    reply = await verify_audit_log(services, person("aud"))

    assert "but cases DIFFER from their audit record:" in reply
    assert "EXC-000001: amount is 1.0 in the case but 1200.0 in its audit record" in reply


async def test_the_latest_checkpoint_catches_a_chain_rehashed_after_an_edit(
    services: Services,
) -> None:
    await file(services)
    await send_checkpoint(services, Actor.system("test"))  # records head 3 as event 4
    assert "It holds the latest checkpoint sent to the auditors (event 3)." in (
        await verify_audit_log(services, person("aud"))
    )
    # An attacker edits event 2 and re-hashes the chain from there: the chain verifies.
    async with services.db.transaction() as conn:
        await allow_audit_tampering(conn)
        rows = (await conn.execute(select(audit_events).order_by(audit_events.c.seq))).all()
        prev = audit.GENESIS_HASH
        for row in rows:
            values = dict(row._mapping)
            if values["seq"] == 2:
                values["rationale"] = "forged"
            values["prev_hash"] = prev
            values["hash"] = prev = audit.row_hash(prev, values)
            await conn.execute(
                update(audit_events)
                .where(audit_events.c.seq == values["seq"])
                .values(rationale=values["rationale"], prev_hash=values["prev_hash"], hash=prev)
            )
        await conn.execute(update(audit_head).values(hash=prev))

    reply = await verify_audit_log(services, person("aud"))

    assert reply.startswith(
        "The audit log is BROKEN against the latest checkpoint sent to the auditors: "
        "event 3 no longer has the hash the checkpoint recorded."
    )


async def test_an_export_is_recorded_with_who_and_which_range(
    services: Services, clock: object
) -> None:
    await file(services)
    wanted = await export_range(services, person("aud"), AuditExport(case_id=1, days=7))
    assert wanted == ExportRange("EXC-000001", START - timedelta(days=7))
    assert wanted.describe() == "the audit events of EXC-000001 since 2026-02-23 09:00 UTC"
    assert (await counts(services.db))["audit"] == 3  # asking for the range records nothing

    through = await record_export(services, Actor("aud", "web"), wanted)

    assert through == 4  # its own record: the export holds it
    record = await _last(services.db)
    assert (record.seq, record.action, record.actor, record.platform) == (
        4,
        "audit.exported",
        "aud",
        "web",
    )
    assert record.data == {
        "seq": 3,
        "since": "2026-02-23T09:00:00.000000Z",
        "of_case": "EXC-000001",
    }


async def test_an_export_of_a_case_without_events_is_not_found(services: Services) -> None:
    await file(services)
    before = await counts(services.db)
    with pytest.raises(NotFound, match="EXC-000042 has no audit events"):
        await export_range(services, person("ada"), AuditExport(case_id=42))
    assert await counts(services.db) == before

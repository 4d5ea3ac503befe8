"""Alembic migrations: the schema they build, idempotence, and the recorded revision."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from handlers.clock import ManualClock
from storage import audit
from storage.database import Database
from storage.migrate import current_revision, head_revision, upgrade
from storage.tables import metadata
from tests.storage.factories import audit_event, create_case

EXPECTED_TABLES = {
    "absences",
    "alembic_version",
    "assignments",
    "audit_events",
    "audit_head",
    "card_refs",
    "cases",
    "decisions",
    "outbox",
    "steps",
    "teams_conversations",
    "policy_versions",
    "policy_card_refs",
    "webhook_deliveries",
    "webhook_endpoints",
    "remediation_items",
    "remediation_card_refs",
    "digests_sent",
}


def _table_names(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _schema_diff(conn: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(conn), metadata))


async def test_upgrade_creates_every_table(db: Database) -> None:
    async with db.reading() as conn:
        tables = await conn.run_sync(_table_names)
    assert tables == EXPECTED_TABLES
    assert set(metadata.tables) == EXPECTED_TABLES - {"alembic_version"}


async def test_migrated_schema_matches_the_table_definitions(db: Database) -> None:
    async with db.reading() as conn:
        diff = await conn.run_sync(_schema_diff)
    assert diff == []


async def test_upgrade_installs_the_append_only_triggers(db: Database) -> None:
    if db.is_sqlite:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        expected = ["audit_events_no_delete", "audit_events_no_update"]
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname"
        expected = ["audit_events_no_change", "audit_events_no_truncate"]
    async with db.reading() as conn:
        names = list((await conn.execute(text(query))).scalars())
    assert names == expected


async def test_current_revision_is_the_initial_schema(db: Database) -> None:
    assert await current_revision(db) == head_revision()


async def test_fresh_database_has_no_revision_until_upgraded(database_url: str) -> None:
    fresh = Database.from_url(database_url)
    try:
        assert await current_revision(fresh) is None
        await upgrade(fresh)
        assert await current_revision(fresh) == head_revision()
    finally:
        await fresh.dispose()


async def test_upgrading_twice_is_harmless(db: Database, clock: ManualClock) -> None:
    async with db.transaction() as conn:
        case_id = await create_case(conn, clock.now())
        await audit.append(conn, [audit_event()], clock.now())

    await upgrade(db)
    await upgrade(db)

    assert await current_revision(db) == head_revision()
    async with db.reading() as conn:
        assert await conn.run_sync(_table_names) == EXPECTED_TABLES
        versions = await conn.execute(text("SELECT version_num FROM alembic_version"))
        assert versions.scalars().all() == [head_revision()]
        assert (await conn.execute(text("SELECT id FROM cases"))).scalars().all() == [case_id]
        result = await audit.verify(conn)
    assert result.ok
    assert result.count == 1


async def test_replicas_migrating_together_take_turns(database_url: str) -> None:
    replicas = [Database.from_url(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(replica) for replica in replicas))
        revisions = {await current_revision(replica) for replica in replicas}
        async with replicas[0].reading() as conn:
            tables = await conn.run_sync(_table_names)
    finally:
        for replica in replicas:
            await replica.dispose()
    assert revisions == {head_revision()}
    assert tables == EXPECTED_TABLES


def test_the_bundled_migrations_are_a_single_line_ending_at_head() -> None:
    assert head_revision() == "0012"

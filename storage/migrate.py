"""Apply the Alembic migrations bundled in storage/migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import Connection, text

from storage.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x6D696772  # held while migrating, so replicas starting together take turns


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration bundled with this code."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


class MigrationError(Exception):
    """Alembic refused the revision asked for (unknown, or not below the current one)."""


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def _upgrade(connection: Connection, revision: str) -> None:
    _lock(connection)
    command.upgrade(alembic_config(connection), revision)


def _downgrade(connection: Connection, revision: str) -> None:
    _lock(connection)
    try:
        command.downgrade(alembic_config(connection), revision)
    except CommandError as error:
        raise MigrationError(str(error).splitlines()[0]) from None


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(database: Database, revision: str = "head") -> None:
    async with database.transaction() as conn:  # a writer: SQLite takes the write lock first
        await conn.run_sync(_upgrade, revision)


async def downgrade(database: Database, revision: str) -> None:
    """Undo migrations down to `revision` (an id, `base`, or `-1`), in one transaction;
    MigrationError says why Alembic would not."""
    async with database.transaction() as conn:
        await conn.run_sync(_downgrade, revision)


async def schema_gap(database: Database) -> str | None:
    """Why this version cannot use the database's schema yet (in words), or None."""
    current, needed = await current_revision(database), head_revision()
    if current == needed:
        return None
    at = f"at migration {current}" if current else "empty (no approvals schema)"
    return f"the database schema is {at}; this version needs {needed}: run `approvals migrate`"


async def current_revision(database: Database) -> str | None:
    async with database.engine.connect() as conn:
        return await conn.run_sync(_current)

"""The Database object: who holds the writers' lock, and when."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from storage import audit
from storage import db as db_module
from storage.audit import CHAIN_LOCK
from storage.database import Database
from tests.conftest import START
from tests.storage.factories import audit_event


async def _another_writer_could_start(db: Database) -> bool:
    """Ask, without waiting, whether a second writer could take the writers' lock now."""
    if db.is_sqlite:
        path = db.engine.url.database
        assert path is not None
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
            return False
        else:
            probe.execute("ROLLBACK")
            return True
        finally:
            probe.close()
    async with db.engine.connect() as other, other.begin():
        taken = await other.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK}
        )
    return bool(taken)


async def test_nothing_holds_the_writers_lock_when_idle(db: Database) -> None:
    assert await _another_writer_could_start(db)


async def test_a_write_transaction_holds_the_writers_lock(db: Database) -> None:
    """SQLite: any write transaction. PostgreSQL: one that appended to the audit chain, from
    the append to the commit; others take no lock (tests/storage/test_chain_lock.py)."""
    async with db.transaction() as conn:
        if db.is_sqlite:
            await conn.execute(text("SELECT 1"))
        else:
            await audit.append(conn, [audit_event()], START)
        assert not await _another_writer_could_start(db)
    assert await _another_writer_could_start(db)


@pytest.mark.parametrize(
    "database_url",
    [
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
    indirect=True,
)
async def test_a_reading_transaction_does_not_block_writers(db: Database) -> None:
    async with db.reading() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM audit_events")) == 0
        assert await _another_writer_could_start(db)


async def test_ping(db: Database) -> None:
    await db.ping()  # raises if the database is unreachable
    async with db.reading() as conn:
        assert await conn.scalar(text("SELECT 1")) == 1


class _BusyOnce:
    """A cursor whose first WAL switch finds the new file locked, as SQLite reports it."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.calls = 0

    def execute(self, sql: str) -> None:
        self.calls += 1
        if self.calls == 1:
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = self.code
            raise error


def test_switching_a_new_file_to_wal_waits_out_a_concurrent_opener(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(db_module, "WAL_SWITCH_PAUSE_SECONDS", 0)
    cursor = _BusyOnce(sqlite3.SQLITE_BUSY)
    db_module._use_wal(cursor)
    assert cursor.calls == 2


def test_other_errors_switching_to_wal_are_not_retried() -> None:
    cursor = _BusyOnce(sqlite3.SQLITE_CORRUPT)
    with pytest.raises(sqlite3.OperationalError):
        db_module._use_wal(cursor)
    assert cursor.calls == 1

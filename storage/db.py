"""Engines: one place that knows how SQLite and PostgreSQL differ at the connection level."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 10_000
WAL_SWITCH_ATTEMPTS = 100
WAL_SWITCH_PAUSE_SECONDS = 0.05
WRITE_OPTION = "approvals_write"  # execution option that marks a connection as a writer


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL. WAL is kept in the file, so this only works once per database;
    but on a brand-new file the switch needs an exclusive lock, which SQLite does not wait for:
    connections opening it together (replicas starting) retry for a moment."""
    for _ in range(WAL_SWITCH_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as error:
            code = getattr(error, "sqlite_errorcode", None)
            if code not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            time.sleep(WAL_SWITCH_PAUSE_SECONDS)
    cursor.execute("PRAGMA journal_mode=WAL")  # the last try: its error is the one to show


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for `url`, with the SQLite settings the product relies on.

    SQLite gets WAL (readers never block the writer), a busy timeout (writers queue instead of
    failing) and foreign keys. Write transactions (see `WRITE_OPTION`) start with BEGIN
    IMMEDIATE, taking the write lock up front: two decisions on one step are then serialized,
    and the second one reads the first one's result instead of failing on a stale snapshot.
    Read transactions start with a plain BEGIN and never hold the write lock.
    """
    if not is_sqlite(url):
        return create_async_engine(url, echo=echo, pool_pre_ping=True)

    engine = create_async_engine(url, echo=echo)
    sqlite_settings(engine.sync_engine)
    return engine


def sqlite_settings(sync_engine: Engine, *, all_write: bool = False) -> None:
    """The connection settings every SQLite engine here uses (see `create_engine`);
    `all_write` begins every transaction IMMEDIATE (the writer thread's engine)."""

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        writing = all_write or connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

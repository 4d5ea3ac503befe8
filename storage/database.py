"""The unit of work: one transaction per use case, committed only if the block completes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from policy.effects import AuditEvent
from storage.audit import APPENDED, CHAIN_LOCK
from storage.db import WRITE_OPTION, create_engine

# How long a writer waits for its turn on SQLite before the request is answered "busy".
WRITE_QUEUE_SECONDS = 10.0


class Busy(Exception):
    """No turn to write came in time; the caller may try again shortly (HTTP 503)."""


class Database:
    """Owns the engine; hands out transactions. Built once by the composition root."""

    def __init__(self, engine: AsyncEngine, write_wait: float = WRITE_QUEUE_SECONDS) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time. Writers of this process queue here, first come
        # first served (asyncio.Lock is fair), instead of racing for SQLite's lock through
        # its busy handler, which hands it out in no order and fails some with "database is
        # locked" under load. SQLite's own lock still orders this process against others.
        self._writers = asyncio.Lock() if self.is_sqlite else None
        self.write_wait = write_wait
        # Told the audit events of each write transaction that committed (metrics count them).
        self.on_commit: Callable[[Sequence[AuditEvent]], None] | None = None

    @classmethod
    def from_url(cls, url: str, write_wait: float = WRITE_QUEUE_SECONDS) -> Database:
        return cls(create_engine(url), write_wait)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: state, audit and outbox rows commit together or not at all.

        An exception inside the block rolls everything back. Writers are serialized so the
        audit chain stays linear (see storage.audit). On SQLite a writer that cannot get its
        turn within `write_wait` seconds gets Busy.
        """
        appended: list[AuditEvent] = []  # storage.audit.append adds this transaction's events
        if self._writers is None:
            async with self._begin() as conn:
                conn.info[APPENDED] = appended  # the pooled connection's: set anew each use
                yield conn
            self._committed(appended)
            return
        try:
            async with asyncio.timeout(self.write_wait):
                await self._writers.acquire()
        except TimeoutError:
            raise Busy(f"no turn to write within {self.write_wait:g} s") from None
        try:
            async with self._begin() as conn:
                conn.info[APPENDED] = appended
                yield conn
            self._committed(appended)
        finally:
            self._writers.release()

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
                if not self.is_sqlite:
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK}
                    )
                yield conn

    def _committed(self, appended: Sequence[AuditEvent]) -> None:
        """Reached only once a write transaction committed (a rollback raises past it), so
        nothing that rolled back is ever counted."""
        if appended and self.on_commit is not None:
            self.on_commit(appended)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A transaction for queries: one consistent snapshot, no locks that block writers.

        SQLite in WAL mode reads from a snapshot taken at the first read; PostgreSQL needs
        REPEATABLE READ for the same (READ COMMITTED would let a multi-statement read, like
        audit verification, see a write committed halfway through).
        """
        async with self.engine.connect() as conn:
            if not self.is_sqlite:
                await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()

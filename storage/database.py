"""The unit of work: one transaction per use case, committed only if it completes whole."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from policy.effects import AuditEvent
from storage.audit import APPENDED
from storage.db import WRITE_OPTION, create_engine
from storage.writer import Busy, NestedWrite, Readers, Unit, Writer

__all__ = ["Busy", "Database", "NestedWrite", "Unit"]

T = TypeVar("T")

# How long a writer waits for its turn on SQLite before the request is answered "busy".
WRITE_QUEUE_SECONDS = 10.0


class Database:
    """Owns the engine; hands out transactions. Built once by the composition root."""

    def __init__(self, engine: AsyncEngine, write_wait: float = WRITE_QUEUE_SECONDS) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time: this process's writes go through one writer
        # thread, in arrival order (storage.writer). PostgreSQL writes from any connection.
        url = engine.url.render_as_string(hide_password=False)
        self._writer = Writer(url) if self.is_sqlite else None
        self._readers = Readers(url) if self.is_sqlite else None
        self.write_wait = write_wait
        # Told the audit events of each write transaction that committed (metrics count them).
        self.on_commit: Callable[[Sequence[AuditEvent]], None] | None = None

    @classmethod
    def from_url(cls, url: str, write_wait: float = WRITE_QUEUE_SECONDS) -> Database:
        return cls(create_engine(url), write_wait)

    async def write(self, unit: Unit[T]) -> T:
        """Run `unit` in one write transaction and return what it returns; an exception
        rolls everything back and reaches the caller.

        The unit is handed over whole: on SQLite it runs on the writer thread's connection
        (storage.writer), one hop however many statements it makes; a unit whose turn does not
        come within `write_wait` seconds is never run and the caller gets Busy. So a unit must
        touch only the connection and plain data: no awaiting chat or HTTP calls, no asyncio
        objects of the caller's loop. A caller cancelled once its unit started does not stop
        it: the unit runs whole or not at all.
        """
        if self._writer is None:
            async with self.transaction() as conn:
                return await unit(conn)
        result, appended = await self._writer.run(unit, self.write_wait)
        self._committed(appended)
        return result

    async def read(self, unit: Unit[T]) -> T:
        """Run `unit` in one read transaction (one snapshot, as `reading`) and return what it
        returns. On SQLite it runs whole on a reader thread (storage.writer), one hop however
        many queries it makes; the same rules as for `write` units apply."""
        if self._readers is None:
            async with self.reading() as conn:
                return await unit(conn)
        result, _ = await self._readers.run(unit, None)
        return result

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction as a block, on the caller's own connection: state, audit and
        outbox rows commit together or not at all; an exception rolls everything back.

        For tools and tests; use cases use `write`. On SQLite the block holds the writer's turn
        (waiting for it as `write` does, Busy included) while the writer thread waits, so
        blocks and units still write one at a time, in arrival order.
        """
        appended: list[AuditEvent] = []  # storage.audit.append adds this transaction's events
        if self._writer is None:
            async with self._begin() as conn:
                conn.info[APPENDED] = appended  # the pooled connection's: set anew each use
                yield conn
            self._committed(appended)
            return
        turn = await self._writer.hold(self.write_wait)
        try:
            with self._writer.marked_writing():
                async with self._begin() as conn:
                    conn.info[APPENDED] = appended
                    yield conn
            self._committed(appended)
        finally:
            self._writer.release(turn)

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
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
        """Finishes the units already queued, then closes every connection."""
        if self._writer is not None and self._readers is not None:
            await self._writer.close()
            await self._readers.close()
        await self.engine.dispose()

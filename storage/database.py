"""The unit of work: one transaction per use case, committed only if the block completes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.audit import CHAIN_LOCK
from storage.db import WRITE_OPTION, create_engine


class Database:
    """Owns the engine; hands out transactions. Built once by the composition root."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(create_engine(url))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: state, audit and outbox rows commit together or not at all.

        An exception inside the block rolls everything back. Writers are serialized so the
        audit chain stays linear (see storage.audit).
        """
        async with self.engine.connect() as conn:
            await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
                if not self.is_sqlite:
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK}
                    )
                yield conn

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

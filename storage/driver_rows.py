"""Plain rows straight from the driver's own cursor, for reads that scan a whole table (audit
verification): there SQLAlchemy's work per row (a Row object, type processing, a greenlet
switch per streamed row) costs more than the database does.

The rows come as the driver gives them (tuples from aiosqlite, Records from asyncpg): no type
processing, so a JSON column is its text and a SQLite time is its stored text. They are read
in the caller's transaction, so in its snapshot; on PostgreSQL through a server-side cursor.
`sql` is a constant of the caller's, never built from input (no parameters: the drivers
spell them differently).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

Row = Sequence[Any]


async def batches(conn: AsyncConnection, sql: str, size: int) -> AsyncGenerator[Sequence[Row]]:
    """The rows of `sql`, `size` at a time. Close it (`contextlib.aclosing`) if you stop early."""
    if conn.dialect.driver == "aiosqlite":
        reader = _sqlite
    elif conn.dialect.driver == "asyncpg":
        reader = _postgres
    else:
        reader = _core
    async with aclosing(reader(conn, sql, size)) as read:  # closed with this generator
        async for rows in read:
            yield rows


async def _driver(conn: AsyncConnection) -> Any:
    return (await conn.get_raw_connection()).driver_connection


async def _sqlite(conn: AsyncConnection, sql: str, size: int) -> AsyncGenerator[Sequence[Row]]:
    driver = await _driver(conn)
    if not driver.in_transaction:  # let SQLAlchemy begin (BEGIN), so reads share a snapshot
        await conn.execute(text("SELECT 1"))
    cursor = await driver.execute(sql)
    try:
        while rows := await cursor.fetchmany(size):
            yield rows
    finally:
        await cursor.close()


async def _postgres(conn: AsyncConnection, sql: str, size: int) -> AsyncGenerator[Sequence[Row]]:
    driver = await _driver(conn)
    if not driver.is_in_transaction():  # SQLAlchemy begins on its first statement only
        await conn.execute(text("SELECT 1"))
    # In autocommit a cursor still needs a transaction: it gets one of its own.
    own = None if driver.is_in_transaction() else driver.transaction(readonly=True)
    async with own or contextlib.nullcontext():
        cursor = await driver.cursor(sql)
        while rows := await cursor.fetch(size):
            yield rows


async def _core(conn: AsyncConnection, sql: str, size: int) -> AsyncGenerator[Sequence[Row]]:
    """Another driver: SQLAlchemy's own streaming, still without type processing."""
    async with conn.stream(text(sql).execution_options(yield_per=size)) as result:
        async for rows in result.partitions(size):
            yield rows

"""Inserts that settle a clash on a unique key in the database, not by a check first.

Writers run side by side on PostgreSQL (only audit appends are serialized, `storage.audit`),
so "look, then insert" can race: both look, both insert, one fails and its whole transaction
with it. `INSERT ... ON CONFLICT` settles it in one statement on both engines: the second
writer waits for the first to commit, then updates the row or leaves it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def _insert(conn: AsyncConnection, table: Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


async def insert_or_update(
    conn: AsyncConnection, table: Table, key: Mapping[str, Any], values: Mapping[str, Any]
) -> None:
    """Insert the row `key` with `values`, or set `values` on it if it exists."""
    statement = _insert(conn, table).values(**key, **values)
    statement = statement.on_conflict_do_update(index_elements=list(key), set_=dict(values))
    await conn.execute(statement)


async def insert_unless_exists(
    conn: AsyncConnection, table: Table, values: Mapping[str, Any], returning: Sequence[Any] = ()
) -> Any:
    """Insert the row unless it clashes with one on any unique key (or unique index);
    the result's rowcount (or its RETURNING rows) says whether it went in."""
    statement = _insert(conn, table).values(**values).on_conflict_do_nothing()
    if returning:
        statement = statement.returning(*returning)
    return await conn.execute(statement)

"""Persistence: tables, migrations, the unit of work, the audit chain and the outbox.

SQLAlchemy 2 Core on asyncio: SQLite (aiosqlite) by default, PostgreSQL (asyncpg) when the
database URL says so. Imports policy/ types only.
"""

"""Shared fixtures: real databases (SQLite in a temp dir, PostgreSQL in a fresh database per
test), a manual clock, the bundled example policy and the services built from them."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from handlers.clock import ManualClock
from handlers.context import Services
from policy.loader import load_policy
from policy.model import Policy
from storage.database import Database
from storage.migrate import upgrade

EXAMPLE_POLICY = Path(__file__).parent.parent / "policy" / "examples" / "acme.yaml"
TEST_POLICY = Path(__file__).parent / "data" / "policy.yaml"  # every tier and rule is used
POSTGRES_URL = os.environ.get(
    "APPROVALS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _create_postgres_database() -> str:
    """A fresh, empty database on the test server; returns its SQLAlchemy URL."""
    name = f"approvals_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_dsn(POSTGRES_URL))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


async def _drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    admin = await asyncpg.connect(_dsn(POSTGRES_URL))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test that uses a database runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'approvals.db'}"
        return
    url = await _create_postgres_database()
    try:
        yield url
    finally:
        await _drop_postgres_database(url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(database_url)
    await upgrade(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(TEST_POLICY)


@pytest.fixture
def services(db: Database, policy: Policy, clock: ManualClock) -> Services:
    return Services(db=db, policy=policy, clock=clock)

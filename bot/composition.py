"""The composition root: everything is built here from settings and injected parts."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.settings import ConfigurationError, Settings
from handlers.clock import Clock, SystemClock
from handlers.context import Services
from handlers.policy_versions import bootstrap
from policy.loader import load_policy
from policy.policy_edits import admins_of
from storage.database import Database
from storage.migrate import schema_gap, upgrade

log = logging.getLogger(__name__)


async def open_database(url: str) -> Database:
    """The database at `url`, reached once; ConfigurationError in one line if it cannot be
    (no such database, refused connection, unreadable file), naming the variable."""
    db = Database.from_url(url)
    try:
        await db.ping()
    except (DBAPIError, OSError) as error:
        await db.dispose()
        reason = getattr(error, "orig", None) or error
        shown = make_url(url).render_as_string(hide_password=True)
        raise ConfigurationError(
            f"Configuration error: APPROVALS_DATABASE_URL: cannot open {shown}: {reason}"
        ) from None
    return db


async def build_services(
    settings: Settings, *, clock: Clock | None = None, migrate_sqlite: bool = True
) -> Services:
    """Load the policy, open the database and (for SQLite) bring its schema up to date.

    PostgreSQL is migrated explicitly with `approvals migrate`, so replicas never race a
    schema change at start-up.
    """
    file_policy = load_policy(settings.APPROVALS_POLICY_FILE)
    db = await open_database(settings.APPROVALS_DATABASE_URL)
    if migrate_sqlite and db.is_sqlite:
        await upgrade(db)
    clock = clock or SystemClock()
    policy = file_policy
    if await schema_gap(db) is None:  # else serve answers 503 until `approvals migrate`
        path = Path(settings.APPROVALS_POLICY_FILE)
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        policy = await bootstrap(db, file_policy, text, clock)
    if len(admins_of(policy)) < 2:
        log.warning(
            "policy: %s has fewer than two admins, so only the policy file can change it "
            "(a change from chat needs one admin to propose and another to approve)",
            policy.name,
        )
    return Services(
        db=db, policy=policy, clock=clock, default_webhook_url=settings.APPROVALS_WEBHOOK_URL
    )

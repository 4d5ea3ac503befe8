"""The composition root: everything is built here from settings and injected parts."""

from __future__ import annotations

from bot.settings import Settings
from handlers.clock import Clock, SystemClock
from handlers.context import Services
from policy.loader import load_policy
from storage.database import Database
from storage.migrate import upgrade


async def build_services(
    settings: Settings, *, clock: Clock | None = None, migrate_sqlite: bool = True
) -> Services:
    """Load the policy, open the database and (for SQLite) bring its schema up to date.

    PostgreSQL is migrated explicitly with `approvals migrate`, so replicas never race a
    schema change at start-up.
    """
    policy = load_policy(settings.APPROVALS_POLICY_FILE)
    db = Database.from_url(settings.APPROVALS_DATABASE_URL)
    if migrate_sqlite and db.is_sqlite:
        await upgrade(db)
    return Services(db=db, policy=policy, clock=clock or SystemClock())

"""`approvals migrate [--status | --downgrade REV]`: the database schema's Alembic revision."""

from __future__ import annotations

import argparse
import sys

from bot.composition import open_database
from bot.settings import Settings
from storage.migrate import MigrationError, current_revision, downgrade, head_revision, upgrade


def add_migrate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("migrate", help="bring the database schema up to date")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--status", action="store_true", help="print the current and the head revision; no change"
    )
    which.add_argument(
        "--downgrade", metavar="REV", help="undo migrations down to REV (0009, -1, or base)"
    )


def _shown(revision: str | None) -> str:
    return revision or "none (empty database)"


async def migrate_command(args: argparse.Namespace, settings: Settings) -> int:
    db = await open_database(settings.APPROVALS_DATABASE_URL)
    try:
        if args.status:
            current, head = await current_revision(db), head_revision()
            print(f"current revision: {_shown(current)}")
            print(f"head revision:    {head}{' (up to date)' if current == head else ''}")
            return 0
        if args.downgrade is not None:
            try:
                await downgrade(db, args.downgrade)
            except MigrationError as error:
                print(f"--downgrade {args.downgrade!r}: {error}", file=sys.stderr)
                return 2
        else:
            await upgrade(db)
        print(f"database schema at revision {_shown(await current_revision(db))}")
        return 0
    finally:
        await db.dispose()

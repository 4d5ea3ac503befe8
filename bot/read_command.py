"""What the read-only commands (`approvals policy backtest`, `approvals report`) share: they
read the database the server uses in one go and write nothing, never create a SQLite file
that is not there, answer a problem with one line and exit status 2, and stop quietly when
the reader of their output goes away (`| head`)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import TextIO, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.composition import open_database
from storage.database import Database
from storage.migrate import current_revision

DEFAULT_WINDOW = timedelta(days=30)
T = TypeVar("T")


class CommandError(Exception):
    """The command cannot run; the message says why (exit status 2)."""


def parse_since(text: str) -> datetime:
    """`2026-10-01` (midnight UTC) or an ISO time (UTC unless it names its offset)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise CommandError(
                f"--since {text!r} is not a date like 2026-10-01 or a time like "
                "2026-10-01T09:00:00+02:00."
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def refuse_missing_sqlite_file(url: str, nothing: str) -> None:
    """Opening a SQLite file that is not there would create it: a reader should not.
    `nothing` ends the message: "no cases to backtest"."""
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return
    if not path.startswith("file:") and not os.path.exists(path):
        raise CommandError(f"APPROVALS_DATABASE_URL: {path} does not exist: {nothing}.")


async def read_database(url: str, read: Callable[[Database], Awaitable[T]]) -> T:
    """`read` on the database at `url`, which must have the approvals schema; a database
    error (a schema of another version, a permission refused) is a CommandError."""
    db = await open_database(url)
    try:
        if await current_revision(db) is None:
            raise CommandError("The database has no approvals schema yet: run `approvals migrate`.")
        return await read(db)
    except DBAPIError as error:
        raise CommandError(
            f"Cannot read the cases: {getattr(error, 'orig', None) or error}"
        ) from None
    finally:
        await db.dispose()


def write_out(out: TextIO, text: str) -> int:
    """Write the command's output; exit status 0, also when the reader stopped early."""
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:  # the reader stopped early (`| head`): not an error
        _silence(out)
    return 0


def _silence(out: TextIO) -> None:
    """Point a closed standard output at os.devnull, so Python's exit does not fail on it."""
    try:
        fileno = out.fileno()
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fileno)
    finally:
        os.close(devnull)

"""`approvals webhooks list [--failed]` and `approvals webhooks redeliver ID|--failed`.

`list` shows the newest messages first (`--failed`: those that need an operator: failed, and
waiting on an endpoint a 410 disabled). `redeliver` queues messages again now with the same
webhook-id, to be sent by a running `approvals serve`: one message by its id or webhook-id
(delivered ones too, for a receiver that lost one), or `--failed`, every failed and disabled
message. Redelivering is the operator saying the receiver is back, so it re-enables the
endpoints a 410 disabled: `--failed` all of them, an ID its own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TextIO, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.composition import open_database
from bot.settings import ConfigurationError, load_settings
from handlers.clock import Clock, SystemClock
from storage import webhooks
from storage.audit import format_time
from storage.database import Database
from storage.migrate import schema_gap
from storage.records import case_ref
from storage.webhooks import Delivery, DeliveryStatus

T = TypeVar("T")
COLUMNS = ("id", "webhook-id", "case", "type", "endpoint", "status", "attempts", "next", "last")


class _Refused(Exception):
    """The command cannot run; the message says why."""


def add_webhooks_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("webhooks", help="list webhook deliveries, or send them again")
    actions = parser.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the newest webhook messages first")
    listing.add_argument("--failed", action="store_true", help="only failed and disabled ones")
    listing.add_argument("--limit", type=int, default=200, help="at most this many (200)")
    again = actions.add_parser("redeliver", help="queue messages again, same webhook-id")
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="a message's id or webhook-id (msg_...)")
    which.add_argument("--failed", action="store_true", help="every failed and disabled one")


def webhooks_command(
    args: argparse.Namespace, *, out: TextIO | None = None, clock: Clock | None = None
) -> int:
    out = out if out is not None else sys.stdout
    clock = clock or SystemClock()
    try:
        settings = load_settings()
        _refuse_missing_file(settings.APPROVALS_DATABASE_URL)
        if args.webhooks_command == "list":
            if args.limit < 1:
                raise _Refused("--limit must be 1 or more.")
            read = _list(args.failed, args.limit)
            rows = asyncio.run(_on_database(settings.APPROVALS_DATABASE_URL, read))
            out.write(_table(rows, clock))
            return 0
        write = _redeliver(args.id, clock)
        out.write(asyncio.run(_on_database(settings.APPROVALS_DATABASE_URL, write)) + "\n")
        return 0
    except (ConfigurationError, _Refused) as error:
        print(error, file=sys.stderr)
        return 2


def _list(failed: bool, limit: int) -> Callable[[Database], Awaitable[list[Delivery]]]:
    async def read(db: Database) -> list[Delivery]:
        async with db.reading() as conn:
            return await webhooks.listing(conn, needs_operator=failed, limit=limit)

    return read


def _redeliver(key: str | None, clock: Clock) -> Callable[[Database], Awaitable[str]]:
    async def write(db: Database) -> str:
        async with db.transaction() as conn:
            if key is None:
                count = await webhooks.redeliver_failed(conn, clock.now())
                return f"queued {count} message(s) again; disabled endpoints are enabled again"
            found = await webhooks.find(conn, key.strip())
            if found is None:
                raise _Refused(
                    f"There is no webhook message {key!r}: give its id or webhook-id, as "
                    "`approvals webhooks list` shows them."
                )
            if found.status is DeliveryStatus.PENDING:
                return (
                    f"{found.message_id} is already pending; its next attempt is at "
                    f"{format_time(found.next_attempt_at)}"
                )
            count = await webhooks.redeliver(conn, found, clock.now())
        more = f", with {count - 1} more of endpoint {found.endpoint}" if count > 1 else ""
        return f"queued {found.message_id} again{more}"

    return write


def _refuse_missing_file(url: str) -> None:
    """Opening a SQLite file that is not there would create it; this command should not."""
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return
    if not path.startswith("file:") and not os.path.exists(path):
        raise _Refused(f"APPROVALS_DATABASE_URL: {path} does not exist: no webhooks.")


async def _on_database(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """`work` on the database at `url`, which must have this version's schema."""
    db = await open_database(url)
    try:
        gap = await schema_gap(db)
        if gap is not None:
            raise _Refused(f"Cannot use the database: {gap}.")
        return await work(db)
    except DBAPIError as error:
        reason = getattr(error, "orig", None) or error
        raise _Refused(f"Cannot use the database: {reason}") from None
    finally:
        await db.dispose()


def _table(rows: list[Delivery], clock: Clock) -> str:
    if not rows:
        return "no webhook messages\n"
    now = clock.now()
    cells = [COLUMNS] + [
        (
            str(d.id),
            d.message_id,
            case_ref(d.case_id),
            d.event_type,
            d.endpoint,
            d.status.value,
            str(d.attempts),
            _next(d, now),
            _last(d),
        )
        for d in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS) - 1)]
    lines = [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)), row[-1]])
        for row in cells
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _last(delivery: Delivery) -> str:
    if delivery.last_error:
        return " ".join(delivery.last_error.split())[:120]
    return f"HTTP {delivery.last_status}" if delivery.last_status is not None else "-"


def _next(delivery: Delivery, now: datetime) -> str:
    if delivery.status is not DeliveryStatus.PENDING:
        return "-"
    return "now" if delivery.next_attempt_at <= now else format_time(delivery.next_attempt_at)

"""`approvals digest --now [--force]`: send today's digest at once, for operators and tests.

It writes each digest to the outbox, which a running `approvals serve` delivers within
seconds. `--now` ignores the digest's time and whether today is a business day; it still
sends each person one digest a day (the scheduled one later today skips them), unless
`--force` sends it again to everyone with something waiting.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from handlers.context import Services
from handlers.digest import send_digests


def add_digest_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("digest", help="send the daily digest now")
    parser.add_argument(
        "--now", action="store_true", required=True, help="now, whatever the time or day"
    )
    parser.add_argument(
        "--force", action="store_true", help="also to those who already had today's"
    )


async def digest_command(svc: Services, force: bool, out: TextIO | None = None) -> int:
    queued = await send_digests(svc, at_once=True, again=force)
    print(
        f"queued {queued} digest{'s' if queued != 1 else ''}; a running `approvals serve` "
        "delivers them",
        file=out if out is not None else sys.stdout,
    )
    return 0

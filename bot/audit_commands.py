"""`approvals audit verify` and `approvals audit checkpoint`: what an auditor runs.

verify checks, in order: the hash chain and its head (an edited, inserted or removed event,
a head that does not match), the cases against the content their chain records (an edited
amount, supplier, code, requester... of a case), and, given a checkpoint kept outside the
database, that the chain still holds the checkpoint's event (a log cut off at its end, or
deleted whole, with the head rewritten to match).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from handlers.checkpoints import send_checkpoint
from handlers.context import Actor, Services
from storage.audit_checkpoint import Checkpoint, current
from storage.audit_report import check_log
from storage.database import Database


def _fail(text: str) -> int:
    print(text, file=sys.stderr)
    return 1


async def verify_command(db: Database, checkpoint_file: Path | None) -> int:
    checkpoint = None
    if checkpoint_file is not None:
        try:
            text = await asyncio.to_thread(checkpoint_file.read_text, encoding="utf-8")
            checkpoint = Checkpoint.parse(text)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            print(f"{checkpoint_file}: {error}", file=sys.stderr)
            return 2
    async with db.reading() as conn:
        report = await check_log(conn, checkpoint)
    chain, contents = report.chain, report.contents
    if not chain.ok:
        where = f"event {chain.broken_seq}" if chain.broken_seq else "the chain head"
        return _fail(
            f"audit log BROKEN at {where}: {chain.problem} "
            f"({chain.count} events verified before it)"
        )
    if contents is not None and not contents.ok:
        lines = "\n".join(f"  {problem}" for problem in contents.problems)
        return _fail(f"cases DIFFER from their audit record:\n{lines}")
    if report.checkpoint_problem is not None:
        return _fail(f"audit log BROKEN against the checkpoint: {report.checkpoint_problem}")
    assert contents is not None  # the chain held, so the contents were checked
    unbound = f", {contents.unbound} filed before content binding" if contents.unbound else ""
    against = f", and it holds checkpoint event {checkpoint.seq}" if checkpoint else ""
    print(
        f"audit log intact: {chain.count} events verified; {contents.checked} cases match "
        f"their audit record{unbound}{against}"
    )
    return 0


async def checkpoint_command(svc: Services, send: bool) -> int:
    """Print the head as JSON; with `send`, DM it to the auditors (delivered by `serve`)."""
    if send:
        sent = await send_checkpoint(svc, Actor.system("audit-checkpoint", "cli"))
        if sent is None:
            print("nobody has the auditor role in the policy: nothing sent", file=sys.stderr)
            return 2
        print(sent.to_json())
        print("sent to the auditors (delivered by the running `approvals serve`)", file=sys.stderr)
        return 0
    async with svc.db.reading() as conn:
        print((await current(conn)).to_json())
    return 0

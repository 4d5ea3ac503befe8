"""Checkpoints: the chain's head, kept outside the database, so that cutting events off the
end of the chain (and rewriting the head to match) or deleting it whole is caught.

A chain can only vouch for itself: with nothing outside it, a log truncated to an earlier
event and a head rewritten to that event verify. A checkpoint is a witness: the seq and hash
of the newest event at some moment, printed by `approvals audit checkpoint` and sent to the
auditors by DM every day. `verify_checkpoint` fails unless the chain still holds that event
with that hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.audit import GENESIS_HASH, format_time
from storage.tables import audit_events, audit_head


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    at: str  # when that event was appended, as the export writes times

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash, "at": self.at}, sort_keys=True)

    @staticmethod
    def parse(text: str) -> Checkpoint:
        """A checkpoint from its JSON; ValueError saying what is wrong."""
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"not a checkpoint: {error.msg}") from None
        if not isinstance(data, dict):
            raise ValueError("not a checkpoint: expected a JSON object")
        seq, digest, at = data.get("seq"), data.get("hash"), data.get("at")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ValueError("not a checkpoint: seq must be a whole number")
        if not isinstance(digest, str) or len(digest) != 64:
            raise ValueError("not a checkpoint: hash must be 64 hex digits")
        return Checkpoint(seq, digest, at if isinstance(at, str) else "")


async def current(conn: AsyncConnection) -> Checkpoint:
    """The head of the chain now (seq 0 and the genesis hash for an empty log)."""
    head = (await conn.execute(select(audit_head.c.seq, audit_head.c.hash))).first()
    if head is None:
        return Checkpoint(0, GENESIS_HASH, "")
    at: datetime | None = await conn.scalar(
        select(audit_events.c.at).where(audit_events.c.seq == head.seq)
    )
    return Checkpoint(head.seq, head.hash, format_time(at) if at is not None else "")


async def verify_checkpoint(conn: AsyncConnection, checkpoint: Checkpoint) -> str | None:
    """None if the chain still holds the checkpoint's event with its hash; else what is wrong."""
    if checkpoint.seq == 0:
        return None
    found = await conn.scalar(
        select(audit_events.c.hash).where(audit_events.c.seq == checkpoint.seq)
    )
    if found is None:
        return (
            f"the checkpoint names event {checkpoint.seq}, which the chain no longer holds "
            "(events were removed from its end)"
        )
    if found != checkpoint.hash:
        return f"event {checkpoint.seq} no longer has the hash the checkpoint recorded"
    return None

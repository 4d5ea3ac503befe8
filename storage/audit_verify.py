"""Recomputing the audit chain fast enough that a million events verify in seconds.

Verification reads far more than it hashes, so it reads the way the database stores the
rows: plain tuples from the driver's own cursor (a server-side cursor on PostgreSQL), no
SQLAlchemy rows, no JSON decoding. `data` is hashed as the text stored, which is what
`append` hashed. Each body is rebuilt with one %-format that yields exactly the bytes of
`storage.audit.event_hash` (`canonical_json`'s sorted keys, its own string escaping), and a
row holding a value of any other type than `append` writes is hashed the slow way, with
`canonical_json` itself, so nothing is judged differently from `event_hash`.

The time is the one exception to "as stored": `append` hashed `format_time(at)`. SQLite keeps
`at` as text, which SQLAlchemy writes as `2026-03-02 09:00:00.000000`; text of exactly that
form (year 1000 or later) is turned into the hashed form by swapping two characters, any
other text is decoded as SQLAlchemy would read it. PostgreSQL hands back a datetime. Events of
one transaction share their time, so a time is converted once per run of equal ones.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from contextlib import aclosing
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import driver_rows
from storage.audit import GENESIS_HASH, VerifyResult, canonical_json, format_time
from storage.driver_rows import Row
from storage.tables import audit_events, audit_head

BATCH = 5000  # rows per fetch: few round trips, a few MB in memory at a time

# The columns verify reads, in this order (a caller of `verify` given its rows may index them).
COLUMNS = (
    "seq", "at", "actor", "action", "case_ref", "step_id", "rationale", "policy_version",
    "platform", "data", "prev_hash", "hash",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM audit_events ORDER BY seq"  # noqa: S608 (constants)
# prev_hash + canonical_json(body) of event_hash, keys in sorted order; values come quoted.
_BODY = (
    '%s{"action":%s,"actor":%s,"at":"%s","case":%s,"data":%s,"platform":%s,'
    '"policy_version":%s,"rationale":%s,"seq":%s,"step":%s}'
)
# What SQLAlchemy stores for a datetime on SQLite; its hashed form differs in two characters.
_SQLITE_TIME = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")
_CONTENT = "its content does not match its hash"
_LINK = "its prev_hash does not match the event before"


def _time_reader(dialect: Dialect) -> Callable[[Any], str | None]:
    """The hashed form of a stored `at`, or None where it reads as no time at all."""
    decode = audit_events.c.at.type.dialect_impl(dialect).result_processor(dialect, None)
    fullmatch = _SQLITE_TIME.fullmatch

    def hashed(stored: Any) -> str | None:
        if type(stored) is str and fullmatch(stored):
            return f"{stored[:10]}T{stored[11:]}Z"
        if type(stored) is datetime and stored.tzinfo is None and stored.year >= 1000:
            return stored.isoformat(timespec="microseconds") + "Z"  # = strftime, but faster
        try:
            moment = decode(stored) if decode is not None else stored
            return format_time(moment) if isinstance(moment, datetime) else None
        except (TypeError, ValueError, AttributeError, OverflowError):
            return None

    return hashed


def _exact_hash(prev: str, row: Row, at: str) -> str | None:
    """event_hash over the row's values as they are, for types the fast path does not take."""
    seq, _, actor, action, case_ref, step_id, rationale, version, platform, data = row[:10]
    body = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "case": case_ref,
        "step": step_id,
        "rationale": rationale,
        "policy_version": version,
        "platform": platform,
        "data": data,
    }
    try:
        encoded = prev.encode("ascii") + canonical_json(body).encode("utf-8")
    except (TypeError, ValueError):  # not JSON, or not UTF-8: append cannot have written it
        return None
    return hashlib.sha256(encoded).hexdigest()


class _Chain:
    """The running state of one verification, fed a batch of rows at a time."""

    __slots__ = ("_at", "_at_text", "_time", "expected", "prev")

    def __init__(self, time: Callable[[Any], str | None]) -> None:
        self.prev = GENESIS_HASH
        self.expected = 1  # the next seq; the count verified is one less
        self._time = time
        self._at: Any = object()  # no stored time equals it
        self._at_text: str | None = None

    def feed(self, rows: Sequence[Row]) -> VerifyResult | None:
        """None if every row chains on; else the first break."""
        # Locals, not attributes or globals, in the loop: this is where the time goes.
        sha256, quote, body, number = hashlib.sha256, encode_basestring, _BODY, int.__repr__
        null = "null"
        prev, expected, last_at, at_text = self.prev, self.expected, self._at, self._at_text
        try:
            for row in rows:
                (seq, at, actor, action, case, step, rationale, version, platform, data,
                 linked, digest) = row  # fmt: skip
                if seq != expected:
                    gap = f"expected event {expected}, found {seq}"
                    return VerifyResult(expected - 1, seq, gap)
                if linked != prev:
                    return VerifyResult(expected - 1, seq, _LINK)
                if at != last_at:
                    last_at, at_text = at, self._time(at)
                if at_text is None:
                    return VerifyResult(expected - 1, seq, _CONTENT)
                try:  # int.__repr__ and quote refuse what append never writes (a float, bytes)
                    message = body % (
                        prev, quote(action), quote(actor), at_text,
                        null if case is None else quote(case), quote(data),
                        null if platform is None else quote(platform),
                        null if version is None else quote(version),
                        null if rationale is None else quote(rationale),
                        number(seq), null if step is None else number(step),
                    )  # fmt: skip
                    mine: str | None = sha256(message.encode()).hexdigest()
                except (TypeError, ValueError):  # such a value: hashed as event_hash would
                    mine = _exact_hash(prev, row, at_text)
                if mine != digest:
                    return VerifyResult(expected - 1, seq, _CONTENT)
                prev = digest
                expected += 1
        finally:
            self.prev, self.expected, self._at, self._at_text = prev, expected, last_at, at_text
        return None


async def verify(
    conn: AsyncConnection,
    batch: int = BATCH,
    verified: Callable[[Sequence[Row]], None] | None = None,
) -> VerifyResult:
    """Recompute the chain from the first event; name the first event that does not fit.

    `verified`, if given, is handed each batch of rows (`COLUMNS`) once all of it verified:
    the content check reads the events it needs from there instead of scanning again."""
    # The head first: on PostgreSQL this statement begins the transaction and its snapshot,
    # which the driver's cursor below then reads in.
    head = (await conn.execute(select(audit_head.c.seq, audit_head.c.hash))).first()
    chain = _Chain(_time_reader(conn.dialect))
    async with aclosing(driver_rows.batches(conn, _SELECT, batch)) as stream:
        async for rows in stream:
            broken = chain.feed(rows)
            if broken is not None:
                return broken
            if verified is not None:
                verified(rows)
    count, prev = chain.expected - 1, chain.prev
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if (head_seq, head_hash) != (count, prev):
        return VerifyResult(
            count, None, f"the chain head says {head_seq} events but {count} were found"
        )
    return VerifyResult(count)

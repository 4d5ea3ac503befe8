"""Policy versions in the database: the active one, the last imported from a file, history.

A version row keeps the policy's YAML text and its content hash; exactly one row is `active`.
Activating one supersedes the one before, in the same transaction.

Writers run side by side on PostgreSQL, so two activations at once (two proposals approved,
two replicas importing the file) are settled here: superseding is compare-and-set on the
active row's state (the second waits on the first's row lock, then matches nothing), and the
partial unique index `uq_policy_versions_one_active` refuses a second active row outright
(the first activation into an empty table). Either way the loser gets False or an
IntegrityError and rolls back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import policy_versions


class Unread:
    """`activate_new` was not told which version the caller saw active."""


UNREAD = Unread()


class VersionState(enum.StrEnum):
    DRAFT = "draft"
    PROPOSED = "proposed"
    ACTIVE = "active"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    id: int
    version: str
    text: str
    origin: str  # file | chat
    source: str
    state: VersionState
    created_by: str
    created_at: datetime
    approved_by: str | None
    reason: str | None

    @property
    def ref(self) -> str:
        return f"POL-{self.id:06d}"


def _stored(row: Any) -> StoredPolicy:
    return StoredPolicy(
        id=row.id,
        version=row.version,
        text=row.text,
        origin=row.origin,
        source=row.source,
        state=VersionState(row.state),
        created_by=row.created_by,
        created_at=row.created_at,
        approved_by=row.approved_by,
        reason=row.reason,
    )


async def active(conn: AsyncConnection) -> StoredPolicy | None:
    row = (
        await conn.execute(
            select(policy_versions)
            .where(policy_versions.c.state == VersionState.ACTIVE.value)
            .order_by(policy_versions.c.id.desc())
            .limit(1)
        )
    ).first()
    return _stored(row) if row else None


async def active_version(conn: AsyncConnection) -> str | None:
    """Just the active version's hash: what replicas poll."""
    return await conn.scalar(
        select(policy_versions.c.version)
        .where(policy_versions.c.state == VersionState.ACTIVE.value)
        .order_by(policy_versions.c.id.desc())
        .limit(1)
    )


async def last_imported(conn: AsyncConnection, source: str) -> StoredPolicy | None:
    """The newest version imported from the file at `source`, whatever its state now."""
    row = (
        await conn.execute(
            select(policy_versions)
            .where(policy_versions.c.origin == "file", policy_versions.c.source == source)
            .order_by(policy_versions.c.id.desc())
            .limit(1)
        )
    ).first()
    return _stored(row) if row else None


async def texts_by_version(conn: AsyncConnection) -> dict[str, str]:
    """The stored text of each version hash (the first stored, when it was stored twice)."""
    rows = await conn.execute(
        select(policy_versions.c.version, policy_versions.c.text).order_by(policy_versions.c.id)
    )
    texts: dict[str, str] = {}
    for row in rows:
        texts.setdefault(row.version, row.text)
    return texts


async def history(conn: AsyncConnection, limit: int = 50) -> list[StoredPolicy]:
    rows = await conn.execute(
        select(policy_versions).order_by(policy_versions.c.id.desc()).limit(limit)
    )
    return [_stored(row) for row in rows]


async def activate_new(
    conn: AsyncConnection,
    *,
    version: str,
    text: str,
    origin: str,
    source: str,
    created_by: str,
    now: datetime,
    reason: str | None = None,
    current: StoredPolicy | Unread | None = UNREAD,
) -> tuple[StoredPolicy, StoredPolicy | None] | None:
    """Store a version as the active one; the one active before is superseded. Returns
    (the new version, the one it superseded), or None if another activation came first.

    `current`: the active version the caller decided on (None: none), superseded by
    compare-and-set; a version activated since makes this one lose instead of superseding
    it unseen. Without it, the active version now."""
    before = await active(conn) if isinstance(current, Unread) else current
    if before is not None and not await _supersede(conn, before):
        return None
    result = await conn.execute(
        insert(policy_versions).returning(*policy_versions.c),
        {
            "version": version,
            "text": text,
            "origin": origin,
            "source": source[:500],
            "state": VersionState.ACTIVE.value,
            "created_by": created_by,
            "created_at": now,
            "approved_by": None,
            "approved_at": None,
            "reason": reason,
        },
    )
    return _stored(result.one()), before


async def get(conn: AsyncConnection, version_id: int) -> StoredPolicy | None:
    row = (
        await conn.execute(select(policy_versions).where(policy_versions.c.id == version_id))
    ).first()
    return _stored(row) if row else None


async def draft_of(
    conn: AsyncConnection, person: str, *, for_update: bool = False
) -> StoredPolicy | None:
    """`person`'s draft (each admin has at most one: `uq_policy_versions_one_draft`).
    `for_update` row-locks it on PostgreSQL, so two edits of one draft at once apply one after
    the other instead of the second overwriting the first."""
    query = (
        select(policy_versions)
        .where(
            policy_versions.c.state == VersionState.DRAFT.value,
            policy_versions.c.created_by == person,
        )
        .order_by(policy_versions.c.id.desc())
        .limit(1)
    )
    if for_update:
        query = query.with_for_update()  # SQLite renders none: it has one writer anyway
    row = (await conn.execute(query)).first()
    return _stored(row) if row else None


async def save_draft(
    conn: AsyncConnection, person: str, version: str, text: str, now: datetime
) -> StoredPolicy:
    """Write `person`'s draft: the one they have (row-locked), changed, or a new one."""
    draft = await draft_of(conn, person, for_update=True)
    if draft is not None:
        await conn.execute(
            update(policy_versions)
            .where(policy_versions.c.id == draft.id)
            .values(version=version, text=text, created_at=now)
        )
        found = await get(conn, draft.id)
        assert found is not None
        return found
    result = await conn.execute(
        insert(policy_versions).returning(*policy_versions.c),
        {
            "version": version,
            "text": text,
            "origin": "chat",
            "source": "chat",
            "state": VersionState.DRAFT.value,
            "created_by": person,
            "created_at": now,
            "approved_by": None,
            "approved_at": None,
            "reason": None,
        },
    )
    return _stored(result.one())


async def set_state(
    conn: AsyncConnection,
    stored: StoredPolicy,
    state: VersionState,
    *,
    expected: VersionState,
    reason: str | None = None,
) -> bool:
    """Move a version from `expected` to `state`; False if it was not in `expected` any more
    (someone else acted on it first)."""
    values: dict[str, Any] = {"state": state.value}
    if reason is not None:
        values["reason"] = reason
    result = await conn.execute(
        update(policy_versions)
        .where(policy_versions.c.id == stored.id, policy_versions.c.state == expected.value)
        .values(**values)
    )
    return result.rowcount == 1


async def activate(
    conn: AsyncConnection, stored: StoredPolicy, approver: str, now: datetime
) -> bool:
    """Make a proposed version the active one (the one before is superseded); False if
    another decision or activation came first. Supersedes first: the unique index allows
    one active row at any moment."""
    current = await active(conn)
    if current is not None and not await _supersede(conn, current):
        return False
    result = await conn.execute(
        update(policy_versions)
        .where(
            policy_versions.c.id == stored.id,
            policy_versions.c.state == VersionState.PROPOSED.value,
        )
        .values(state=VersionState.ACTIVE.value, approved_by=approver, approved_at=now)
    )
    return result.rowcount == 1  # compare-and-set: still proposed, not decided meanwhile


async def _supersede(conn: AsyncConnection, current: StoredPolicy) -> bool:
    """Compare-and-set: supersede `current` if it is still the active one."""
    result = await conn.execute(
        update(policy_versions)
        .where(
            policy_versions.c.id == current.id,
            policy_versions.c.state == VersionState.ACTIVE.value,
        )
        .values(state=VersionState.SUPERSEDED.value)
    )
    return result.rowcount == 1

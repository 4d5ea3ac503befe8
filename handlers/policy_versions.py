"""Which policy is in force: the active version in the database, bootstrapped from the file.

At start-up the policy file is imported as the active version when its content differs from
the version last imported from that file (or nothing is stored yet): `policy.imported` in the
audit log, and the admins are told, naming a version from chat it supersedes. Otherwise the
active version in the database stands, whatever the file says: chat is the admins' way to
change policy, the file the bootstrap and the GitOps way. Replicas follow the active version
(`follow`), so a version activated on one is in force on all within seconds.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.clock import Clock
from handlers.context import Services
from handlers.policy_common import superseded_update
from policy.actor import Actor
from policy.audit_data import AuditData
from policy.effects import AuditEvent, MessageKind, OutgoingMessage
from policy.lifecycle import AuditKind
from policy.loader import PolicyError, parse_policy
from policy.model import Policy
from policy.names import admins
from storage import audit, outbox
from storage import policy_versions as versions
from storage.database import Database

log = logging.getLogger(__name__)

IMPORTER = Actor.system("policy-file")
IMPORT_ATTEMPTS = 3  # a lost race reads again and finds the winner's import


def stored_source(stored: versions.StoredPolicy) -> str:
    """How messages name a stored version's text (the loader puts it in every problem)."""
    return f"{stored.source} ({stored.ref}, version {stored.version[:12]})"


class _LostRace(Exception):
    """Another activation (a replica starting, an approval) came first; read again."""


async def bootstrap(db: Database, file_policy: Policy, file_text: str, clock: Clock) -> Policy:
    """The policy to run: the file's, imported if it changed since it was last imported;
    else the active version in the database.

    Replicas starting together may import at once: one activation wins (compare-and-set and
    a unique index, `storage.policy_versions`), the others roll back and read again, finding
    the file imported."""
    for _ in range(IMPORT_ATTEMPTS - 1):
        try:
            return await _bootstrap(db, file_policy, file_text, clock)
        except (_LostRace, IntegrityError):
            continue
    return await _bootstrap(db, file_policy, file_text, clock)


async def _bootstrap(db: Database, file_policy: Policy, file_text: str, clock: Clock) -> Policy:
    now = clock.now()

    async def unit(conn: AsyncConnection) -> tuple[bool, versions.StoredPolicy | None]:
        """(imported now?, the version in force); None: the file's, imported before."""
        # The active version first: an import committed since then is seen by the next read,
        # and activating supersedes `current` by compare-and-set, so a replica that read
        # before another's import loses (and reads again) instead of importing twice.
        current = await versions.active(conn)
        last = await versions.last_imported(conn, file_policy.source)
        if current is not None and last is not None and last.version == file_policy.version:
            if current.version == file_policy.version:
                return False, None
            log.info(
                "policy: %s is unchanged since it was imported; %s (from %s) stands",
                file_policy.source,
                current.ref,
                current.origin,
            )
            return False, current
        activated = await versions.activate_new(
            conn,
            version=file_policy.version,
            text=file_text,
            origin="file",
            source=file_policy.source,
            created_by=IMPORTER.id,
            now=now,
            current=current,
        )
        if activated is None:
            raise _LostRace
        stored, before = activated
        data = AuditData(
            version=stored.version,
            superseded=before.version if before else None,
            source=file_policy.source,
        )
        event = AuditEvent(
            actor=IMPORTER.id,
            action=AuditKind.POLICY_IMPORTED,
            policy_version=stored.version,
            platform=IMPORTER.platform,
            data=data.to_json(),
        )
        text = _imported_text(file_policy, stored, before)
        messages = [
            OutgoingMessage(MessageKind.NOTIFY, None, person, text)
            for person in (admins(file_policy) if before is not None else [])
        ]
        messages += superseded_update(file_policy, before, stored.ref)
        await outbox.enqueue(conn, messages, now)
        await audit.append(conn, [event], now)  # last: it holds the chain until the commit
        return True, stored

    imported, stored = await db.write(unit)
    if stored is None:
        return file_policy
    if not imported:
        return parse_policy(stored.text, stored_source(stored))
    log.info(
        "policy: imported %s as %s (version %s)",
        file_policy.source,
        stored.ref,
        stored.version[:12],
    )
    return file_policy


def _imported_text(
    policy: Policy, stored: versions.StoredPolicy, before: versions.StoredPolicy | None
) -> str:
    text = (
        f"The policy file {policy.source} was imported as the active policy "
        f"({stored.ref}, version {stored.version[:12]})."
    )
    if before is not None and before.origin == "chat":
        text += f" It supersedes {before.ref}, a change made from chat by {before.created_by}."
    elif before is not None:
        text += f" It supersedes {before.ref} (version {before.version[:12]})."
    return text


async def follow(svc: Services) -> bool:
    """Put the database's active version in force here if it is not already; True if the
    policy changed. A version that does not load is logged and the current one kept."""
    async with svc.db.reading() as conn:
        version = await versions.active_version(conn)
        if version is None or version == svc.policy.version:
            return False
        stored = await versions.active(conn)
    if stored is None:
        return False
    try:
        policy = parse_policy(stored.text, stored_source(stored))
    except PolicyError as error:
        log.error("policy: %s does not load, the current one stays: %s", stored.ref, error)
        return False
    svc.policy = policy
    log.info("policy: %s (version %s) is now in force", stored.ref, policy.version[:12])
    return True

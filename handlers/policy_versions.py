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


def stored_source(stored: versions.StoredPolicy) -> str:
    """How messages name a stored version's text (the loader puts it in every problem)."""
    return f"{stored.source} ({stored.ref}, version {stored.version[:12]})"


async def bootstrap(db: Database, file_policy: Policy, file_text: str, clock: Clock) -> Policy:
    """The policy to run: the file's, imported if it changed since it was last imported;
    else the active version in the database."""
    now = clock.now()
    async with db.transaction() as conn:
        last = await versions.last_imported(conn, file_policy.source)
        current = await versions.active(conn)
        if current is not None and last is not None and last.version == file_policy.version:
            if current.version == file_policy.version:
                return file_policy
            log.info(
                "policy: %s is unchanged since it was imported; %s (from %s) stands",
                file_policy.source,
                current.ref,
                current.origin,
            )
            return parse_policy(current.text, stored_source(current))
        stored, before = await versions.activate_new(
            conn,
            version=file_policy.version,
            text=file_text,
            origin="file",
            source=file_policy.source,
            created_by=IMPORTER.id,
            now=now,
        )
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
        await audit.append(conn, [event], now)
        text = _imported_text(file_policy, stored, before)
        messages = [
            OutgoingMessage(MessageKind.NOTIFY, None, person, text)
            for person in (admins(file_policy) if before is not None else [])
        ]
        messages += superseded_update(file_policy, before, stored.ref)
        await outbox.enqueue(conn, messages, now)
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

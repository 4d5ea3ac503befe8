"""The policy in force: the file bootstraps it, the database keeps every version and which is
active, and every process follows the active one (SQLite and PostgreSQL)."""

from __future__ import annotations

from handlers.clock import ManualClock
from handlers.context import Services
from handlers.policy_versions import bootstrap, follow
from policy.loader import parse_policy
from policy.model import Policy
from storage import audit
from storage import policy_versions as versions
from storage.database import Database
from tests.conftest import TEST_POLICY
from tests.handlers.conftest import outbox_rows

TEXT = TEST_POLICY.read_text(encoding="utf-8")
CHANGED = TEXT.replace("sla: 4h, backup: [maria]", "sla: 8h, backup: [maria]")


def _policy(text: str) -> Policy:
    return parse_policy(text, str(TEST_POLICY))  # the same file path, other content


async def _stored(db: Database) -> list[versions.StoredPolicy]:
    async with db.reading() as conn:
        return list(reversed(await versions.history(conn)))


async def test_a_fresh_database_imports_the_file_and_a_restart_keeps_it(
    db: Database, clock: ManualClock
) -> None:
    first = await bootstrap(db, _policy(TEXT), TEXT, clock)
    again = await bootstrap(db, _policy(TEXT), TEXT, clock)

    assert first.version == again.version == _policy(TEXT).version
    [stored] = await _stored(db)
    assert (stored.state, stored.origin, stored.text) == ("active", "file", TEXT)
    async with db.reading() as conn:
        events = [e async for e in audit.stream_events(conn)]
    assert [e.action for e in events] == ["policy.imported"]
    assert events[0].data["version"] == first.version


async def test_a_changed_file_becomes_active_and_supersedes_the_last(
    db: Database, clock: ManualClock
) -> None:
    await bootstrap(db, _policy(TEXT), TEXT, clock)
    running = await bootstrap(db, _policy(CHANGED), CHANGED, clock)

    assert running.version == _policy(CHANGED).version
    assert [(v.state, v.version) for v in await _stored(db)] == [
        ("superseded", _policy(TEXT).version),
        ("active", _policy(CHANGED).version),
    ]
    notes = [who for kind, who, text in await outbox_rows(db) if kind == "notify"]
    assert notes == ["ada"]  # the admins hear of it


async def test_an_unchanged_file_leaves_a_version_activated_from_chat_in_force(
    db: Database, clock: ManualClock
) -> None:
    await bootstrap(db, _policy(TEXT), TEXT, clock)
    async with db.transaction() as conn:  # what an approved chat proposal does
        await versions.activate_new(
            conn,
            version=_policy(CHANGED).version,
            text=CHANGED,
            origin="chat",
            source="chat",
            created_by="ada",
            now=clock.now(),
        )

    running = await bootstrap(db, _policy(TEXT), TEXT, clock)  # a restart, file untouched

    assert running.version == _policy(CHANGED).version
    assert len(await _stored(db)) == 2  # nothing imported again


async def test_a_running_process_follows_the_active_version(
    db: Database, clock: ManualClock
) -> None:
    policy = await bootstrap(db, _policy(TEXT), TEXT, clock)
    replica = Services(db, policy, clock)
    assert await follow(replica) is False

    async with db.transaction() as conn:
        await versions.activate_new(
            conn,
            version=_policy(CHANGED).version,
            text=CHANGED,
            origin="chat",
            source="chat",
            created_by="ada",
            now=clock.now(),
        )
    assert await follow(replica) is True
    assert replica.policy.version == _policy(CHANGED).version
    assert replica.policy.tier("category-lead").sla.total_seconds() == 8 * 3600

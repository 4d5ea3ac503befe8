"""The console beside chat: messages for people Slack or Teams reach stay in the outbox for
`serve`; the console prints only what is for people no chat platform reaches."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.console import ConsoleSession
from bot.console_chat import console_only, reached_on_chat
from handlers.clock import ManualClock
from handlers.context import Services
from policy.effects import MessageKind, OutgoingMessage
from policy.loader import load_policy
from policy.model import Person
from storage import outbox
from storage.database import Database
from storage.migrate import upgrade
from storage.outbox import CardRef
from storage.tables import outbox as outbox_table
from tests.conftest import START, TEST_POLICY
from tests.handlers.conftest import file


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Services]:
    """The test policy, with Carl on Teams only: Slack cannot reach him, even by email."""
    text = TEST_POLICY.read_text().replace(
        "{id: carl, name: Carl Chief, email: carl@acme.example}",
        "{id: carl, name: Carl Chief, email: carl@acme.example, teams: 29:carl}",
    )
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(text)
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}")
    await upgrade(db)
    try:
        yield Services(db=db, policy=load_policy(policy_file), clock=ManualClock(START))
    finally:
        await db.dispose()


async def _console(svc: Services, chat: list[str]) -> str:
    out = io.StringIO()
    assert await ConsoleSession(svc, io.StringIO("quit\n"), out, chat=chat).run() == 0
    return out.getvalue()


async def _pending(svc: Services) -> set[tuple[str, str | None]]:
    async with svc.db.reading() as conn:
        rows = await conn.execute(
            select(outbox_table.c.kind, outbox_table.c.recipient).where(
                outbox_table.c.status == "pending"
            )
        )
        return {(row.kind, row.recipient) for row in rows}


async def _note_for_carl(svc: Services) -> None:
    async with svc.db.transaction() as conn:
        message = OutgoingMessage(MessageKind.NOTIFY, recipient="carl", text="For the console")
        await outbox.enqueue(conn, [message], START)


async def test_slack_configured_leaves_slack_messages_for_serve(svc: Services) -> None:
    await file(svc)  # cards for the category leads, lee and dana, both on Slack
    await _note_for_carl(svc)
    before = await _pending(svc)
    assert ("post_card", "lee") in before

    output = await _console(svc, ["slack"])

    assert "Slack in use with this database" in output
    assert "This console shows only those for: carl." in output
    assert "→ message for Carl Chief (carl): For the console" in output
    assert "card for Lee" not in output
    assert await _pending(svc) == before - {("notify", "carl")}  # the rest waits for serve


async def test_a_chat_platform_seen_in_the_database_counts_too(svc: Services) -> None:
    filed = await file(svc)
    async with svc.db.transaction() as conn:  # `serve` posted a card on Slack once
        ref = CardRef(filed.case.id, "dana", "slack", "D0DANA", "1.2")
        await outbox.save_card_ref(conn, ref, START)
    await _note_for_carl(svc)

    output = await _console(svc, [])

    assert "Slack in use with this database" in output
    assert ("post_card", "lee") in await _pending(svc)
    assert ("notify", "carl") not in await _pending(svc)


async def test_without_chat_the_console_delivers_everything(svc: Services) -> None:
    await file(svc)
    output = await _console(svc, [])
    assert "in use with this database" not in output
    assert "card for Lee Park (lee)" in output
    assert await _pending(svc) == set()


@pytest.mark.parametrize(
    ("person", "slack", "teams"),
    [
        (Person("a", "A", "a@x", slack="U1"), True, False),
        (Person("b", "B", "b@x"), True, False),  # Slack finds them by email
        (Person("c", "C", "c@x", teams="29:c"), False, True),
        (Person("d", "D", "d@x", aad="0000"), False, True),
        (Person("e", "E", "e@x", slack="U1", teams="29:e"), True, True),
    ],
)
def test_who_each_platform_reaches(person: Person, slack: bool, teams: bool) -> None:
    assert reached_on_chat(person, {"slack"}) is slack
    assert reached_on_chat(person, {"teams"}) is teams
    assert reached_on_chat(person, {"slack", "teams"}) is (slack or teams)
    assert not reached_on_chat(person, set())


def test_no_chat_means_every_message_is_the_consoles(svc: Services) -> None:
    assert console_only(svc.policy, []) is None
    assert console_only(svc.policy, ["slack"]) == frozenset({"carl"})
    assert console_only(svc.policy, ["slack", "teams"]) == frozenset()

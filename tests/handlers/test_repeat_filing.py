"""Filing from chat is idempotent for a short while: a replayed slash command (or a double
submit) within two minutes gets the existing case back (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from bot.chat_commands import parse_exception_command
from bot.conversation import run_command
from handlers.clock import ManualClock
from handlers.context import Services
from tests.handlers.conftest import counts, person

COMMAND = '/exception new OFF_CONTRACT "Laptops" amount=1200 currency=EUR'


async def test_the_same_filing_three_times_is_one_case(
    services: Services, clock: ManualClock
) -> None:
    command = parse_exception_command(COMMAND.removeprefix("/exception "))
    first = await run_command(services, person("rita"), command)
    after_one = await counts(services.db)
    clock.advance(timedelta(seconds=30))
    replies = [await run_command(services, person("rita"), command) for _ in range(2)]

    assert first.text.startswith("Filed EXC-000001")
    for reply in replies:
        assert reply.ok
        assert reply.text.startswith("You already filed this as EXC-000001 at 2026-03-02 09:00")
        assert reply.cards[0].case_ref == "EXC-000001"
    assert await counts(services.db) == after_one  # nothing written at all


async def test_after_the_window_or_by_someone_else_it_is_a_new_case(
    services: Services, clock: ManualClock
) -> None:
    command = parse_exception_command(COMMAND.removeprefix("/exception "))
    await run_command(services, person("rita"), command)
    other = await run_command(services, person("lee"), command)
    clock.advance(timedelta(minutes=2, seconds=1))
    later = await run_command(services, person("rita"), command)

    assert other.text.startswith("Filed EXC-000002")
    assert later.text.startswith("Filed EXC-000003")

"""`/approvals dashboard` and the link under `/approvals stats`, in the console and in any
chat: a link bound to the person when one can be made, else what is missing."""

from __future__ import annotations

import io
import re

import pytest

from bot.chat_commands import ShowDashboard, ShowHelp, parse_approvals_command, policy_resolver
from bot.console import ConsoleSession
from bot.conversation import run_command
from bot.dashboard_access import LINK_PURPOSE, DashboardAccess
from bot.links import LinkSigner
from bot.settings import load_settings
from handlers.context import Actor, Services

SECRET = "a-test-link-secret-of-32-characters!"
PUBLIC = "https://approvals.example.com"


def test_parsing(services: Services) -> None:
    resolve = policy_resolver(services.policy)
    assert parse_approvals_command("dashboard", resolve) == ShowDashboard()
    assert parse_approvals_command("DASHBOARD", resolve) == ShowDashboard()
    assert parse_approvals_command("dashboard please", resolve) == ShowHelp()


async def test_the_link_is_bound_to_the_person_who_asked(services: Services) -> None:
    access = DashboardAccess(LinkSigner(SECRET), PUBLIC)
    reply = await run_command(services, Actor("lee", "slack"), ShowDashboard(), access)
    found = re.search(r"token=(\S+)", reply.text)
    assert found is not None
    assert reply.text.startswith(f"Your dashboard: {PUBLIC}/dashboard/login?token=")
    assert "works for 15 minutes" in reply.text
    grant = LinkSigner(SECRET).read(found.group(1), purpose=LINK_PURPOSE, now=services.clock.now())
    assert grant.subject == "lee"


async def test_without_a_public_url_it_says_what_is_missing(services: Services) -> None:
    for access in (None, DashboardAccess(LinkSigner(SECRET), None)):
        reply = await run_command(services, Actor("lee", "slack"), ShowDashboard(), access)
        assert reply.text.startswith("The dashboard needs APPROVALS_PUBLIC_URL")
        assert "token" not in reply.text


async def test_stats_end_with_the_link_when_one_can_be_made(services: Services) -> None:
    resolve = policy_resolver(services.policy)
    stats = parse_approvals_command("stats", resolve)
    access = DashboardAccess(LinkSigner(SECRET), PUBLIC)
    with_link = (await run_command(services, Actor("lee", "slack"), stats, access)).text
    assert with_link.splitlines()[-1].startswith(f"Dashboard: {PUBLIC}/dashboard/login?token=")
    without = (await run_command(services, Actor("lee", "slack"), stats)).text
    assert "Dashboard" not in without
    assert with_link.startswith(without)


async def _console(services: Services, environ: dict[str, str]) -> str:
    out = io.StringIO()
    access = DashboardAccess.for_console(load_settings(environ))
    script = "as lee\n/approvals dashboard\n"
    assert await ConsoleSession(services, io.StringIO(script), out, dashboard=access).run() == 0
    return out.getvalue()


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        (
            {"APPROVALS_PUBLIC_URL": PUBLIC, "APPROVALS_LINK_SECRET": SECRET},
            f"Your dashboard: {PUBLIC}/dashboard/login?token=",
        ),
        ({"APPROVALS_PUBLIC_URL": PUBLIC}, "The dashboard needs APPROVALS_LINK_SECRET here too"),
        ({}, "The dashboard needs APPROVALS_PUBLIC_URL"),
    ],
    ids=["link", "no-shared-secret", "no-public-url"],
)
async def test_the_console_prints_the_link(
    services: Services, environ: dict[str, str], says: str
) -> None:
    assert says in await _console(services, environ)

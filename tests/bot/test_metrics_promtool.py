"""`promtool check metrics` (Debian's `prometheus` package) finds nothing to say about a scrape
of a running app with some activity: a case filed and delivered on Slack, a sweep, a scrape.

Without promtool the test fails where CI is set (`.ci/run` installs it) and is skipped
elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest

from bot.http_errors import METRICS_KEY
from bot.scheduler import SweepScheduler
from handlers.context import Services
from tests.slack.conftest import SLACK_USERS
from tests.slack.fake_slack_api import FakeSlackAPI
from tests.slack.harness import slack_for


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        reason = "promtool is not installed (apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(f"the promtool test must run in CI: {reason}")
        pytest.skip(reason)
    return found


async def test_promtool_finds_the_scrape_clean(services: Services) -> None:
    promtool = _promtool()
    async with FakeSlackAPI(users=SLACK_USERS) as fake, slack_for(services, fake) as slack:
        await slack.file(title="Monitors")
        await slack.settle()
        await SweepScheduler(services, 30, metrics=slack.runtime.app[METRICS_KEY]).run_once()
        async with slack.http.get("/metrics") as response:
            assert response.status == 200
            scrape = await response.read()

    checked = await asyncio.create_subprocess_exec(
        promtool,
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(checked.communicate(scrape), timeout=60)
    said = out.decode()
    assert checked.returncode == 0, said
    assert said.strip() == "", said
    assert b"approvals_platform_api_seconds_bucket" in scrape  # the activity is in it
    assert b"_created" not in scrape

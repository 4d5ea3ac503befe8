"""The dashboard in a real browser: Debian's headless Chromium, driven by Selenium through
Debian's chromedriver, loads the page from a link handed out in chat, and finds the charts
drawn, the case search working, and no console errors (a blocked asset would be one: the
page's CSP allows nothing from elsewhere). A screenshot is kept as a test artefact.

Without Chromium the test fails where CI is set (`.ci/run` installs it) and is skipped
elsewhere, saying why.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestServer
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from bot.chat_commands import ShowDashboard
from bot.conversation import run_command
from bot.dashboard_access import DashboardAccess
from bot.dashboard_web import DashboardRoutes
from bot.links import LinkSigner
from bot.server import create_app
from handlers.clock import ManualClock
from handlers.context import Actor, Services
from tests.bot.dashboard_seed import seed

ARTIFACTS = Path(__file__).parent.parent / "artifacts"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SECRET = "a-test-link-secret-of-32-characters!"
WAIT_SECONDS = 20

# Each chart's drawn marks and their size, as the browser laid them out.
_CHART_SIZES = """
return Array.from(document.querySelectorAll('svg.pygal-chart')).map(svg => {
  const box = svg.getBoundingClientRect();
  const marks = Array.from(svg.querySelectorAll('rect.rect, path.line, rect.reactive'));
  const drawn = marks.filter(m => { const b = m.getBBox(); return b.width > 0 && b.height > 0; });
  return {width: box.width, height: box.height, marks: drawn.length};
});
"""
_RESOURCES = "return performance.getEntriesByType('resource').map(e => e.name);"


def _browser_or_reason() -> str | None:
    """None when Chromium and its driver are here; else what is missing."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]
    if not missing:
        return None
    return f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver)"


@pytest.fixture
def browser_present() -> None:
    reason = _browser_or_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"the browser test must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the browser sees the same page on either database."""
    return f"sqlite+aiosqlite:///{tmp_path / 'approvals.db'}"


@pytest.fixture
async def base_url(services: Services, browser_present: None) -> AsyncIterator[str]:
    app_access = DashboardAccess(LinkSigner(SECRET), None)
    app = create_app(services, api_token=None, mounts=[DashboardRoutes(app_access).add_routes])
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def _driver() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2400"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def _errors(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [entry for entry in log if entry["level"] == "SEVERE"]


def _listed(driver: webdriver.Chrome) -> list[str]:
    return [
        d.get_attribute("id") or "" for d in driver.find_elements(By.CSS_SELECTOR, "details.case")
    ]


def _drive(link: str, origin: str) -> dict[str, Any]:
    """Everything the browser saw, for the test to check once the browser is closed."""
    driver = _driver()
    try:
        seen: dict[str, Any] = {}
        driver.get(link)
        WebDriverWait(driver, WAIT_SECONDS).until(lambda d: d.find_elements(By.ID, "cases"))
        seen["address"] = driver.current_url
        seen["charts"] = driver.execute_script(_CHART_SIZES)
        seen["all"] = _listed(driver)
        first = driver.find_element(By.CSS_SELECTOR, "details.case summary")
        first.click()  # open one case: its history and policy context
        seen["opened"] = driver.find_element(By.CSS_SELECTOR, "details.case[open]").text
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "dashboard.png"
        driver.save_screenshot(str(shot))
        seen["screenshot"] = shot
        box = driver.find_element(By.NAME, "q")
        box.send_keys("laptops")
        box.submit()
        WebDriverWait(driver, WAIT_SECONDS).until(lambda d: "q=laptops" in d.current_url)
        seen["found"] = _listed(driver)
        seen["found_text"] = driver.find_element(By.ID, "found").text
        driver.save_screenshot(str(ARTIFACTS / "dashboard-search.png"))
        seen["resources"] = driver.execute_script(_RESOURCES)
        seen["errors"] = _errors(driver)
        seen["origin"] = origin
        return seen
    finally:
        driver.quit()


async def test_the_dashboard_in_headless_chromium(
    services: Services, clock: ManualClock, base_url: str
) -> None:
    await seed(services, clock)
    access = DashboardAccess(LinkSigner(SECRET), base_url)
    reply = await run_command(services, Actor("aud", "console"), ShowDashboard(), access)
    found = re.search(r"http://\S+", reply.text)
    assert found is not None, reply.text

    seen = await asyncio.to_thread(_drive, found.group(0), base_url)
    print(f"dashboard screenshot: {seen['screenshot']}")

    assert urlsplit(seen["address"]).path == "/dashboard"  # the token left the address bar
    assert "token" not in seen["address"]
    charts = seen["charts"]
    assert len(charts) >= 6, charts  # volume, cycle, aging, two approver charts, leakage
    for chart in charts:
        assert chart["width"] > 100, chart
        assert chart["height"] > 50, chart
        assert chart["marks"] > 0, chart
    assert seen["all"] == [f"EXC-00000{n}" for n in (5, 4, 3, 2, 1)]
    assert "History" in seen["opened"]
    assert "Policy" in seen["opened"]
    assert seen["found"] == ["EXC-000001"]  # the search by a word of the title
    assert seen["found_text"] == "1 case match."
    assert all(name.startswith(seen["origin"]) for name in seen["resources"]), seen["resources"]
    assert seen["errors"] == []
    assert seen["screenshot"].stat().st_size > 10_000

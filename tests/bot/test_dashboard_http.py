"""`/dashboard` over a real socket (SQLite and PostgreSQL): the link from chat exchanged for a
session cookie, 401 pages for every bad token, each person's scope, the search, and a page
that writes nothing and loads nothing from elsewhere."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.chat_commands import ShowDashboard
from bot.conversation import run_command
from bot.dashboard_access import COOKIE, DashboardAccess
from bot.dashboard_web import ASK, CSP, DashboardRoutes
from bot.links import LinkSigner
from bot.server import create_app
from handlers.clock import ManualClock
from handlers.context import Actor, Services
from handlers.remediation import close_item
from policy.loader import parse_policy
from tests.bot.dashboard_seed import HOSTILE, seed
from tests.conftest import START, TEST_POLICY
from tests.handlers.conftest import counts, file

SECRET = "a-test-link-secret-of-32-characters!"
PUBLIC = "https://approvals.example.com"
ALL = ["EXC-000001", "EXC-000002", "EXC-000003", "EXC-000004", "EXC-000005"]


@pytest.fixture
def access() -> DashboardAccess:
    return DashboardAccess(LinkSigner(SECRET), PUBLIC)


@pytest.fixture
async def http(services: Services, access: DashboardAccess) -> AsyncIterator[ClientSession]:
    app = create_app(services, api_token=None, mounts=[DashboardRoutes(access).add_routes])
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with ClientSession(base_url=str(server.make_url("/"))) as session:
            yield session
    finally:
        await server.close()


async def _link(services: Services, access: DashboardAccess, who: str) -> str:
    """The path of the link `/approvals dashboard` gives `who` in chat."""
    reply = await run_command(services, Actor(who, "console"), ShowDashboard(), access)
    found = re.search(r"https://\S+", reply.text)
    assert found is not None, reply.text
    parts = urlsplit(found.group(0))
    assert parts.path == "/dashboard/login"
    return f"{parts.path}?{parts.query}"


async def _session(
    http: ClientSession, services: Services, access: DashboardAccess, who: str
) -> str:
    async with http.get(await _link(services, access, who), allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/dashboard"
        return response.cookies[COOKIE].value


async def _page(http: ClientSession, cookie: str, query: str = "") -> str:
    async with http.get(f"/dashboard{query}", headers={"Cookie": f"{COOKIE}={cookie}"}) as response:
        assert response.status == 200, await response.text()
        assert response.headers["Content-Security-Policy"] == CSP
        return await response.text()


def _listed(page: str) -> list[str]:
    return sorted(re.findall(r'<details class="case" id="(EXC-\d+)">', page))


async def test_the_link_opens_a_session_with_strict_cookie_flags(
    services: Services, access: DashboardAccess, http: ClientSession, clock: ManualClock
) -> None:
    await seed(services, clock)
    async with http.get(await _link(services, access, "aud"), allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/dashboard"  # the token leaves the address bar
        assert response.headers["Referrer-Policy"] == "no-referrer"
        cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    flags = {flag.strip().split("=")[0].lower(): flag.strip() for flag in cookie.split(";")[1:]}
    assert flags["httponly"] == "HttpOnly"
    assert flags["samesite"] == "SameSite=Strict"
    assert flags["path"] == "Path=/dashboard"
    assert flags["max-age"] == "Max-Age=28800"  # 8 hours
    assert "secure" in flags  # the public address is https


async def test_over_plain_http_the_cookie_is_not_secure(services: Services) -> None:
    plain = DashboardAccess(LinkSigner(SECRET), "http://approvals.internal:3000")
    app = create_app(services, api_token=None, mounts=[DashboardRoutes(plain).add_routes])
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        link = plain.link("aud", services.clock.now())
        assert link is not None
        path = link.removeprefix("http://approvals.internal:3000")
        async with (
            ClientSession(base_url=str(server.make_url("/"))) as http,
            http.get(path, allow_redirects=False) as response,
        ):
            assert response.status == 303
            assert "secure" not in response.headers["Set-Cookie"].lower()
    finally:
        await server.close()


async def test_without_a_session_the_page_is_401_and_says_how_to_get_a_link(
    services: Services, http: ClientSession
) -> None:
    for headers in ({}, {"Cookie": f"{COOKIE}=junk"}):
        async with http.get("/dashboard", headers=headers) as response:
            assert response.status == 401
            assert response.content_type == "text/html"
            assert response.headers["Content-Security-Policy"] == CSP
            page = await response.text()
        assert ASK in page
        assert "<details" not in page


def _forged() -> str:
    other = LinkSigner("another-secret-of-at-least-32-chars!")
    return other.sign(purpose="dashboard", subject="aud", now=START)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("", "This link has no token"),
        ("?token=not-a-token", "This link is not valid."),
        (f"?token={_forged()}", "This link is not valid."),
        (
            "?token=" + LinkSigner(SECRET).sign(purpose="audit-export", subject="aud", now=START),
            "This link is not for this.",
        ),
    ],
    ids=["missing", "junk", "forged", "wrong-purpose"],
)
async def test_a_bad_link_is_401_and_sets_no_cookie(
    services: Services, http: ClientSession, query: str, says: str
) -> None:
    await file(services)
    before = await counts(services.db)
    async with http.get(f"/dashboard/login{query}", allow_redirects=False) as response:
        assert response.status == 401
        assert "Set-Cookie" not in response.headers
        page = await response.text()
    assert says in page
    assert ASK in page
    assert await counts(services.db) == before


async def test_links_expire_after_15_minutes_and_sessions_after_8_hours(
    services: Services, access: DashboardAccess, http: ClientSession, clock: ManualClock
) -> None:
    stale = await _link(services, access, "aud")
    clock.advance(timedelta(minutes=15))
    async with http.get(stale, allow_redirects=False) as response:
        assert response.status == 401
        assert "expired" in await response.text()
    cookie = await _session(http, services, access, "aud")
    clock.advance(timedelta(hours=8) - timedelta(seconds=1))
    await _page(http, cookie)
    clock.advance(timedelta(seconds=1))
    async with http.get("/dashboard", headers={"Cookie": f"{COOKIE}={cookie}"}) as response:
        assert response.status == 401
        assert ASK in await response.text()


async def test_a_link_token_is_not_a_session(
    services: Services, access: DashboardAccess, http: ClientSession
) -> None:
    token = (await _link(services, access, "aud")).split("token=")[1]
    async with http.get("/dashboard", headers={"Cookie": f"{COOKIE}={token}"}) as response:
        assert response.status == 401


async def test_admins_and_auditors_see_everything_and_others_their_cases(
    services: Services, access: DashboardAccess, http: ClientSession, clock: ManualClock
) -> None:
    await seed(services, clock)
    for who, expected in [
        ("aud", ALL),
        ("ada", ALL),
        ("maria", ["EXC-000001"]),  # the finance director of the one high-value case
        ("rita", ALL[:4]),  # what she filed
        ("carl", []),
    ]:
        page = await _page(http, await _session(http, services, access, who))
        assert _listed(page) == expected, who
    assert "the cases you filed or decide" in page


async def test_a_person_no_longer_in_the_policy_is_shut_out(
    services: Services, access: DashboardAccess, http: ClientSession
) -> None:
    cookie = await _session(http, services, access, "sam")
    await _page(http, cookie)
    text = TEST_POLICY.read_text(encoding="utf-8")
    without = text.replace(", delegate: sam", "").replace(
        "  - {id: sam, name: Sam Stand-in, email: sam@acme.example, manager: carl}\n", ""
    )
    services.policy = parse_policy(without, "without-sam.yaml")
    async with http.get("/dashboard", headers={"Cookie": f"{COOKIE}={cookie}"}) as response:
        assert response.status == 403
        assert "no longer in the approvals policy" in await response.text()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?q=laptops", ["EXC-000001"]),
        ("?q=LAPTOPS+hires", ["EXC-000001"]),
        ("?q=initech", ["EXC-000003", "EXC-000004"]),  # a supplier
        ("?q=EXC-000002", ["EXC-000002"]),
        ("?q=price_mismatch", ["EXC-000002"]),  # a code
        ("?q=dana", ["EXC-000005"]),  # a requester
        ("?q=rita+chairs", ["EXC-000003"]),
        ("?status=pending", ["EXC-000003"]),
        ("?q=initech&status=rejected", ["EXC-000004"]),
        ("?q=nothing-like-this", []),
        # the window's bounds are inclusive: 5 was filed a day ago, 1 to 4 more than a day
        # ago, and of those only the open one is listed
        ("?days=1", ["EXC-000003", "EXC-000005"]),
    ],
)
async def test_the_search_filters_on_the_server(
    services: Services,
    access: DashboardAccess,
    http: ClientSession,
    clock: ManualClock,
    query: str,
    expected: list[str],
) -> None:
    await seed(services, clock)
    page = await _page(http, await _session(http, services, access, "aud"), query)
    assert _listed(page) == expected


@pytest.mark.parametrize(
    "query",
    [
        "?status=lost",
        "?days=0",
        "?days=abc",
        "?days=99999",
        "?q=" + "x" * 201,
        "?q=a%00b",
        "?q=" + "+".join("w" * 11),
    ],
)
async def test_a_bad_search_is_a_400_page_and_stores_nothing(
    services: Services, access: DashboardAccess, http: ClientSession, query: str
) -> None:
    cookie = await _session(http, services, access, "aud")
    before = await counts(services.db)
    async with http.get(f"/dashboard{query}", headers={"Cookie": f"{COOKIE}={cookie}"}) as response:
        assert response.status == 400
        assert response.content_type == "text/html"
    assert await counts(services.db) == before


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


async def test_the_page_writes_nothing_runs_nothing_and_loads_nothing_from_elsewhere(
    services: Services, access: DashboardAccess, http: ClientSession, clock: ManualClock
) -> None:
    await seed(services, clock)
    page = await _page(http, await _session(http, services, access, "aud"))
    parser = _Tags()
    parser.feed(page)
    tags = parser.tags
    forms = [attrs for tag, attrs in tags if tag == "form"]
    assert forms == [{"class": "search", "method": "get", "action": "/dashboard", "role": "search"}]
    assert [a.get("type") for t, a in tags if t == "button"] == ["submit"]
    assert {a.get("type") for t, a in tags if t == "input"} == {"search"}
    assert not [t for t, _ in tags if t in ("script", "iframe", "object", "embed", "img")]
    # Nothing is loaded from an address: the only external ones are hyperlinks to the
    # policy's own references, which the browser follows only when clicked.
    references = {rule.url for rule in services.policy.rules if rule.url}
    for tag, attrs in tags:
        for name in ("src", "href", "action", "xlink:href"):
            value = attrs.get(name)
            if value is None or value.startswith(("/dashboard", "#", "data:")):
                continue
            assert (tag, value in references) == ("a", True), (tag, name, value)
    assert "url(" not in page
    assert page.count('class="pygal-chart"') >= 6
    # Every text from a case is escaped; the hostile title never becomes markup.
    assert HOSTILE not in page
    assert "<b>Corp</b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; racks" in page
    # Each case carries its policy context and history.
    assert "Procurement Policy 4.2" in page
    assert "high-value" in page
    assert "Lee Park approved (category-lead): Needed for the new hires" in page


async def test_nothing_but_get(
    services: Services, access: DashboardAccess, http: ClientSession
) -> None:
    cookie = await _session(http, services, access, "aud")
    async with http.post("/dashboard", headers={"Cookie": f"{COOKIE}={cookie}"}) as response:
        assert response.status == 405


async def test_a_few_hundred_cases_render_within_a_second(
    services: Services, access: DashboardAccess, http: ClientSession, clock: ManualClock
) -> None:
    for i in range(300):
        clock.advance(timedelta(minutes=7))
        code = "PRICE_MISMATCH" if i % 3 == 0 else "OFF_CONTRACT"
        await file(services, code=code, title=f"Case {i}", supplier={"name": f"S{i % 13}"})
    cookie = await _session(http, services, access, "aud")
    started = time.perf_counter()
    page = await _page(http, cookie)
    elapsed = time.perf_counter() - started
    assert "300 cases; the newest 50 are shown" in page
    assert elapsed < 1.0, f"{elapsed:.2f}s"


REMEDIATION_POLICY = TEST_POLICY.parent / "remediation.yaml"


async def test_the_remediation_items_and_the_effect_of_a_fix_are_shown(
    services: Services, access: DashboardAccess, http: ClientSession, clock: ManualClock
) -> None:
    services.policy = parse_policy(REMEDIATION_POLICY.read_text(encoding="utf-8"), "rem.yaml")
    for n in range(3):  # the third PRICE_MISMATCH opens REM-000001 for lee
        await file(services, code="PRICE_MISMATCH", title=f"Invoice {n}", amount=100.0)
    for who, sees in [("lee", True), ("maria", True), ("aud", True), ("rita", False)]:
        page = await _page(http, await _session(http, services, access, who))
        assert ('<td class="ref">REM-000001</td>' in page) is sees, who
        assert ("<td>EXC-000001, EXC-000002, EXC-000003<br>" in page) is sees, who

    clock.advance(timedelta(days=1))
    await close_item(services, Actor("lee", "console"), 1, "Price list synced nightly now")
    clock.advance(timedelta(days=2))
    page = await _page(http, await _session(http, services, access, "aud"))
    assert "No remediation item is open." in page
    assert "Closed in this window" in page
    assert "Price list synced nightly now" in page

"""`GET /dashboard/login?token=...` and `GET /dashboard`: the dashboard, read only.

The login checks the link first (401 for a missing, forged, expired or wrong-purpose one),
then that the person is still in the policy in force, sets the session cookie
(bot.dashboard_access) and redirects to /dashboard, so the token leaves the address bar.
Every /dashboard request checks the cookie first, and the person again: a session outlives
neither its 8 hours nor the person's place in the policy. What they see is their scope
(`policy.kpi_scope`), re-read each time from the policy in force.

Every page is sent with a Content-Security-Policy that allows no script and no external
asset: the charts are inline SVG, the styles inline, the form posts nowhere but here.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp import web

from bot.dashboard_access import (
    COOKIE,
    DASHBOARD_PATH,
    LOGIN_PATH,
    SESSION_LIFETIME,
    DashboardAccess,
)
from bot.dashboard_page import (
    MAX_QUERY,
    PageQuery,
    render_dashboard,
    render_refusal,
)
from bot.intake import SERVICES_KEY
from bot.links import LinkError
from handlers.dashboard import dashboard
from policy.dashboard_data import MAX_WORDS, Search
from policy.lifecycle import CaseStatus

log = logging.getLogger(__name__)

ASK = "Ask for a link with /approvals dashboard in Slack, Teams or the console."
CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",  # a person's cases stay out of shared caches
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
MAX_DAYS = 3660


class BadQuery(Exception):
    """A query parameter the page does not take; the message says which and why."""


def _page(status: int, html: str) -> web.Response:
    return web.Response(status=status, text=html, content_type="text/html", headers=HEADERS)


def refusal(status: int, message: str) -> web.Response:
    titles = {400: "Not a search this page can run", 401: "Sign in with a link", 403: "Closed"}
    return _page(status, render_refusal(titles[status], message, ASK))


def parse_query(query: dict[str, str]) -> PageQuery:
    """`q`, `status` and `days` of the search form; anything else is ignored."""
    q = query.get("q", "").strip()
    if len(q) > MAX_QUERY or len(q.split()) > MAX_WORDS or not q.isprintable():
        raise BadQuery(
            f"A search is at most {MAX_QUERY} printable characters and {MAX_WORDS} words."
        )
    status = None
    if wanted := query.get("status", ""):
        try:
            status = CaseStatus(wanted)
        except ValueError:
            raise BadQuery(
                f"The status is one of {', '.join(s.value for s in CaseStatus)}, or any."
            ) from None
    days_text = query.get("days", "30")
    if not (days_text.isascii() and days_text.isdigit() and 0 < int(days_text) <= MAX_DAYS):
        raise BadQuery(f"The window is a number of days, 1 to {MAX_DAYS}.")
    return PageQuery(q, status, int(days_text))


class DashboardRoutes:
    def __init__(self, access: DashboardAccess) -> None:
        self.access = access

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(LOGIN_PATH, self.login)
        app.router.add_get(DASHBOARD_PATH, self.page)

    async def login(self, request: web.Request) -> web.Response:
        svc = request.app[SERVICES_KEY]
        now = svc.clock.now()
        try:
            grant = self.access.read_link(request.query.get("token"), now)
        except LinkError as refused:
            log.info("refused a dashboard link: %s", refused)
            return refusal(401, str(refused))
        if svc.policy.person(grant.subject) is None:
            log.info("refused a dashboard link for %s: not in the policy", grant.subject)
            return refusal(403, "You are not in the approvals policy in force.")
        response = web.Response(status=303, headers={**HEADERS, "Location": DASHBOARD_PATH})
        response.set_cookie(
            COOKIE,
            self.access.session(grant.subject, now),
            max_age=int(SESSION_LIFETIME / timedelta(seconds=1)),
            path=DASHBOARD_PATH,
            httponly=True,
            samesite="Strict",
            secure=request.secure or self.access.https,
        )
        log.info("opened a dashboard session for %s", grant.subject)
        return response

    async def page(self, request: web.Request) -> web.Response:
        svc = request.app[SERVICES_KEY]
        now = svc.clock.now()
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return refusal(401, "You have no dashboard session in this browser.")
        try:
            grant = self.access.read_session(cookie, now)
        except LinkError:
            return refusal(401, "Your dashboard session is not valid any more.")
        if svc.policy.person(grant.subject) is None:
            log.info("closed the dashboard to %s: not in the policy", grant.subject)
            return refusal(403, "You are no longer in the approvals policy in force.")
        try:
            query = parse_query(dict(request.query))
        except BadQuery as bad:
            return refusal(400, str(bad))
        since = now - timedelta(days=query.days)
        data = await dashboard(svc, grant.subject, since, Search.of(query.q, query.status))
        return _page(200, render_dashboard(svc.policy, data, query, now))

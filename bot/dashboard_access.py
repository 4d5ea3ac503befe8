"""Who may open `/dashboard`: a link handed out in chat, exchanged for a session cookie.

The link carries a signed token bound to the person (bot.links, purpose "dashboard", valid
15 minutes). `GET /dashboard/login?token=...` checks it and sets the session cookie: a second
signed token (purpose "dashboard-session", 8 hours), HttpOnly, SameSite=Strict, Path=/dashboard,
and Secure when people reach the server over HTTPS (the request came over TLS, or
APPROVALS_PUBLIC_URL is https: a TLS proxy in front forwards plain HTTP). X-Forwarded-Proto is
not read: nothing here can tell a proxy's header from a client's.

Links and sessions are signed with the key of the audit export links: one key per process,
so a link made in chat on this process is read by this process's server.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from bot.audit_download import AuditDownloads
from bot.links import Grant, LinkSigner
from bot.settings import Settings

DASHBOARD_PATH = "/dashboard"
LOGIN_PATH = "/dashboard/login"
LINK_PURPOSE = "dashboard"
SESSION_PURPOSE = "dashboard-session"
SESSION_LIFETIME = timedelta(hours=8)
COOKIE = "approvals_dashboard"

NO_PUBLIC_URL = (
    "The dashboard needs APPROVALS_PUBLIC_URL, the address people reach `approvals serve` at, "
    "and it is not set here. Ask an operator to set it."
)
UNSHARED_KEY = (
    "The dashboard needs APPROVALS_LINK_SECRET here too: without it, `approvals serve` cannot "
    "check a link this console makes (each process signs with a key of its own)."
)


@dataclass(frozen=True, slots=True)
class DashboardAccess:
    signer: LinkSigner  # the links: LIFETIME (15 minutes)
    public_url: str | None  # None: no link can be made, for the reason `unavailable` gives
    unavailable: str = NO_PUBLIC_URL

    @classmethod
    def of(cls, downloads: AuditDownloads) -> DashboardAccess:
        """For `approvals serve`: the key and address of the audit links."""
        return cls(downloads.signer, downloads.public_url)

    @classmethod
    def for_console(cls, settings: Settings) -> DashboardAccess:
        """For the console, a process of its own: a link works on the server only when both
        sign with APPROVALS_LINK_SECRET."""
        public_url, secret = settings.APPROVALS_PUBLIC_URL, settings.APPROVALS_LINK_SECRET
        if public_url is None or secret is None:
            unused = LinkSigner(secrets.token_urlsafe(48))  # signs nothing: no link is made
            return cls(unused, None, NO_PUBLIC_URL if public_url is None else UNSHARED_KEY)
        return cls(LinkSigner(secret), public_url)

    @property
    def minutes(self) -> int:
        return int(self.signer.lifetime.total_seconds() // 60)

    @property
    def https(self) -> bool:
        return (self.public_url or "").startswith("https://")

    def link(self, person_id: str, now: datetime) -> str | None:
        if self.public_url is None:
            return None
        token = self.signer.sign(purpose=LINK_PURPOSE, subject=person_id, now=now)
        return f"{self.public_url}{LOGIN_PATH}?{urlencode({'token': token})}"

    def read_link(self, token: str | None, now: datetime) -> Grant:
        return self.signer.read(token, purpose=LINK_PURPOSE, now=now)

    def session(self, person_id: str, now: datetime) -> str:
        sessions = self.signer.lasting(SESSION_LIFETIME)
        return sessions.sign(purpose=SESSION_PURPOSE, subject=person_id, now=now)

    def read_session(self, token: str | None, now: datetime) -> Grant:
        return self.signer.read(token, purpose=SESSION_PURPOSE, now=now)

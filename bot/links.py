"""Signed, short-lived links bound to a person: a token that says who it is for, what it is
for, what it carries, and until when.

HS256 JWTs (PyJWT): `sub` the person id, `pur` the purpose ("audit-export", "dashboard",
"dashboard-session"), `cl` the claims of that purpose, `iat` and `exp`. Time is always passed in,
from the services' clock, so expiry is tested without waiting. A token read for another
purpose than it was made for is refused: one signing key serves every purpose safely.

Without APPROVALS_LINK_SECRET the key is random per process: links work only on the replica
that made them, and not after a restart. That is said once in the log.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

log = logging.getLogger(__name__)

LIFETIME = timedelta(minutes=15)
ALGORITHM = "HS256"
MAX_TOKEN_CHARS = 4096  # far above any token made here; longer input is not decoded at all
SKEW = timedelta(seconds=60)  # replicas' clocks may differ this much

Claim = str | int | float | bool | None


class LinkError(Exception):
    """The token is missing, forged, expired or for something else; the message says which,
    in words safe to show whoever presented it."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid token grants: `subject` may do `purpose` with `claims` until `expires_at`."""

    purpose: str
    subject: str
    expires_at: datetime
    claims: Mapping[str, Claim] = field(default_factory=dict)


@functools.cache
def process_key() -> str:
    """The random key of this process, made (and warned about) once."""
    log.warning(
        "APPROVALS_LINK_SECRET is not set: links are signed with a random key of this "
        "process, so they work only on this replica and not after a restart"
    )
    return secrets.token_urlsafe(48)


class LinkSigner:
    def __init__(self, secret: str, *, lifetime: timedelta = LIFETIME) -> None:
        self._key = secret
        self.lifetime = lifetime

    @classmethod
    def from_secret(cls, secret: str | None) -> LinkSigner:
        return cls(secret or process_key())

    def lasting(self, lifetime: timedelta) -> LinkSigner:
        """The same key, for tokens that last `lifetime` (a session, not a link)."""
        return LinkSigner(self._key, lifetime=lifetime)

    def sign(
        self,
        *,
        purpose: str,
        subject: str,
        now: datetime,
        claims: Mapping[str, Claim] | None = None,
    ) -> str:
        payload = {
            "sub": subject,
            "pur": purpose,
            "cl": dict(claims or {}),
            "iat": int(now.timestamp()),
            "exp": int((now + self.lifetime).timestamp()),
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def read(self, token: str | None, *, purpose: str, now: datetime) -> Grant:
        """The grant of a valid token for `purpose` at `now`; LinkError otherwise."""
        if not token:
            raise LinkError("This link has no token: use the link exactly as you got it.")
        if len(token) > MAX_TOKEN_CHARS or not token.isascii():
            raise LinkError("This link is not valid.")
        try:
            payload: Any = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                # expiry is checked below against the injected time, not the machine's
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidTokenError:
            raise LinkError("This link is not valid.") from None
        subject, made_for, claims = payload.get("sub"), payload.get("pur"), payload.get("cl")
        issued, expires = payload.get("iat"), payload.get("exp")
        if not (
            isinstance(subject, str)
            and subject
            and isinstance(made_for, str)
            and isinstance(claims, dict)
            and _is_time(issued)
            and _is_time(expires)
        ):
            raise LinkError("This link is not valid.")
        if made_for != purpose:
            raise LinkError("This link is not for this.")
        expires_at = datetime.fromtimestamp(expires, UTC)
        if now >= expires_at or datetime.fromtimestamp(issued, UTC) > now + SKEW:
            raise LinkError("This link has expired: ask for a new one in chat.")
        return Grant(made_for, subject, expires_at, claims)


def _is_time(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**40

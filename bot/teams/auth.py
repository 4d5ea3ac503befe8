"""Validating the Bot Framework JWT on every inbound activity, fail closed.

In two parts, so nothing of the body is read for a caller without a valid token: `verify`
checks the Authorization header alone (RS256, signed by a key in the Bot Framework's JWKS
endorsed for Teams, issued by https://api.botframework.com for our app id, not expired, with
5 minutes of clock skew); `check_activity` then checks the body against it: the activity's
channel must be one the key is endorsed for, and the token's `serviceurl` claim must equal the
activity's serviceUrl, so a token cannot be replayed against another service.

The OpenID metadata and the JWKS are cached; an unknown key id refreshes the JWKS at most once
an hour. There is one fetch at a time: requests that meet an unknown key while it runs (every
request at a fresh start) wait for that fetch instead of starting their own or being refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt

log = logging.getLogger(__name__)

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
BOT_FRAMEWORK_METADATA = "https://login.botframework.com/v1/.well-known/openidconfiguration"
CLOCK_SKEW_SECONDS = 300
JWKS_REFRESH_SECONDS = 3600.0
ALGORITHMS = ["RS256"]
TEAMS_CHANNEL = "msteams"


class Unauthorized(Exception):
    """The request is refused; `status` is 401 (who are you?) or 403 (not for this)."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True, slots=True)
class _SigningKey:
    key: Any
    endorsements: frozenset[str]


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token whose signature, issuer, audience and lifetime were checked."""

    claims: dict[str, Any]
    endorsements: frozenset[str]  # the channels its signing key is endorsed for


class BotFrameworkAuth:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        app_id: str,
        *,
        metadata_url: str = BOT_FRAMEWORK_METADATA,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.app_id = app_id
        self.metadata_url = metadata_url
        self.monotonic = monotonic
        self._keys: dict[str, _SigningKey] = {}
        self._jwks_url: str | None = None
        self._fetched_at: float | None = None
        self._fetch: asyncio.Task[None] | None = None  # the JWKS fetch under way

    async def verify(self, authorization: str | None) -> VerifiedToken:
        """The Authorization header's token, verified; Unauthorized saying why not."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("missing bearer token")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise Unauthorized(f"malformed token: {error}") from None
        if header.get("alg") not in ALGORITHMS:
            raise Unauthorized(f"algorithm {header.get('alg')!r} is not allowed")
        signing = await self._key(str(header.get("kid") or ""))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                signing.key,
                algorithms=ALGORITHMS,
                audience=self.app_id,
                issuer=BOT_FRAMEWORK_ISSUER,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(f"invalid token: {error}") from None
        if TEAMS_CHANNEL not in signing.endorsements:
            raise Unauthorized("the signing key is not endorsed for Teams", 403)
        return VerifiedToken(claims, signing.endorsements)

    @staticmethod
    def check_activity(token: VerifiedToken, activity: Mapping[str, Any]) -> None:
        """Unauthorized unless `token` was issued for this activity's channel and service."""
        channel = str(activity.get("channelId") or "")
        if not channel or channel not in token.endorsements:
            raise Unauthorized(f"the signing key is not endorsed for channel {channel!r}", 403)
        service_url = activity.get("serviceUrl")
        if not service_url or token.claims.get("serviceurl") != service_url:
            raise Unauthorized("the token's serviceurl does not match the activity", 403)

    async def close(self) -> None:
        """Stop a JWKS fetch still under way (at shutdown)."""
        if self._fetch is not None:
            self._fetch.cancel()
            await asyncio.wait([self._fetch])

    async def _key(self, kid: str) -> _SigningKey:
        if not kid:
            raise Unauthorized("the token names no key")
        if kid not in self._keys:
            fetch = self._fetch
            if fetch is None and self._may_refresh():
                fetch = self._fetch = asyncio.create_task(self._refresh(), name="teams-jwks")
                fetch.add_done_callback(self._fetched)
            if fetch is not None:
                # Shielded: one waiter going away does not cancel the fetch for the others.
                await asyncio.shield(fetch)
        signing = self._keys.get(kid)
        if signing is None:
            raise Unauthorized(f"unknown signing key {kid!r}")
        return signing

    def _fetched(self, fetch: asyncio.Task[None]) -> None:
        if self._fetch is fetch:
            self._fetch = None
        if not fetch.cancelled():
            fetch.exception()  # its waiters were told; not "never retrieved"

    def _may_refresh(self) -> bool:
        return self._fetched_at is None or (
            self.monotonic() - self._fetched_at >= JWKS_REFRESH_SECONDS
        )

    async def _refresh(self) -> None:
        self._fetched_at = self.monotonic()
        try:
            if self._jwks_url is None:
                metadata = await self._get_json(self.metadata_url)
                self._jwks_url = str(metadata["jwks_uri"])
            jwks = await self._get_json(self._jwks_url)
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as error:
            log.warning("could not fetch the Bot Framework signing keys: %s", error)
            self._fetched_at = None  # try again on the next request
            raise Unauthorized("signing keys unavailable") from None
        keys: dict[str, _SigningKey] = {}
        entries = jwks.get("keys")
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            try:
                key = jwt.PyJWK(entry, algorithm="RS256")
            except jwt.PyJWTError:
                continue
            keys[str(entry.get("kid"))] = _SigningKey(
                key.key, frozenset(str(e) for e in entry.get("endorsements", []))
            )
        self._keys = keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        async with self.session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
            response.raise_for_status()
            data = json.loads(await response.text())
        if not isinstance(data, dict):
            raise ValueError(f"{url} did not return a JSON object")
        return data

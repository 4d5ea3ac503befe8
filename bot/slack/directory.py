"""Who is who on Slack: Slack user ids to people of the policy, and back.

A Slack user id maps to a person through the policy's `slack:` field, else (with
SLACK_EMAIL_IDENTITY, on by default) through the email Slack has confirmed for the user; a
person maps to a Slack user through `slack:`, else through users.lookupByEmail. Guests and
people of other organisations (Slack Connect) are never mapped by email, either way: an email
address only stands for a member of this workspace. Lookups are cached; a user who maps to
nobody is refused (fail closed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from policy.model import Person, Policy

log = logging.getLogger(__name__)

CACHE_SECONDS = 3600.0
_MISSING = ""  # cached "no such user", so unknown users cost one lookup an hour
# users.info flags of accounts an email may not stand for: bots, deleted accounts, guests
# (restricted, ultra-restricted), and users Slack says are strangers (another organisation).
_NOT_A_MEMBER = ("deleted", "is_bot", "is_restricted", "is_ultra_restricted", "is_stranger")


class SlackDirectory:
    def __init__(
        self,
        client: AsyncWebClient,
        policy: Callable[[], Policy],
        *,
        ttl: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        email_identity: bool = True,
    ) -> None:
        self.client = client
        self.policy = policy
        self.email_identity = email_identity
        self._team_id: str | None = None  # this workspace's, from auth.test
        self.ttl = ttl
        self.monotonic = monotonic
        self._person_by_user: dict[str, tuple[float, str]] = {}
        self._user_by_email: dict[str, tuple[float, str]] = {}

    def _cached(self, cache: dict[str, tuple[float, str]], key: str) -> str | None:
        hit = cache.get(key)
        if hit is None or self.monotonic() - hit[0] > self.ttl:
            return None
        return hit[1]

    async def person_for(self, user_id: str) -> Person | None:
        policy = self.policy()
        if (person := policy.by_slack_id(user_id)) is not None:
            return person
        if not self.email_identity:
            return None
        cached = self._cached(self._person_by_user, user_id)
        if cached is None:
            cached = await self._email_of(user_id)
            self._person_by_user[user_id] = (self.monotonic(), cached)
        return policy.find_person(cached) if cached else None

    async def _email_of(self, user_id: str) -> str:
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as error:
            log.warning("users.info %s failed: %s", user_id, error.response.get("error"))
            return _MISSING
        user = response.get("user") or {}
        if not isinstance(user, dict) or not await self._member(user):
            return _MISSING
        profile = user.get("profile")
        email = profile.get("email") if isinstance(profile, dict) else None
        return email if isinstance(email, str) and email else _MISSING

    async def _member(self, user: dict[str, object]) -> bool:
        """Is `user` a person of this workspace whose email may stand for them? Not a bot,
        not deleted, not a guest, not of another organisation."""
        if any(user.get(flag) for flag in _NOT_A_MEMBER):
            return False
        team = user.get("team_id")
        return team is None or team == await self._workspace()

    async def _workspace(self) -> str | None:
        if self._team_id is None:
            try:
                self._team_id = str((await self.client.auth_test()).get("team_id") or "")
            except SlackApiError as error:
                log.warning("auth.test failed: %s", error.response.get("error"))
                return None
        return self._team_id or None

    async def user_id_for(self, person: Person) -> str | None:
        if person.slack:
            return person.slack
        if not self.email_identity:
            return None
        email = person.email.lower()
        cached = self._cached(self._user_by_email, email)
        if cached is None:
            try:
                response = await self.client.users_lookupByEmail(email=email)
                user = response.get("user") or {}
                member = isinstance(user, dict) and await self._member(user)
                cached = str(user.get("id") or _MISSING) if member else _MISSING
            except SlackApiError as error:
                if error.response.get("error") != "users_not_found":
                    raise
                cached = _MISSING
            self._user_by_email[email] = (self.monotonic(), cached)
        return cached or None

"""Who is who on Slack: Slack user ids to people of the policy, and back.

A Slack user id maps to a person through the policy's `slack:` field, else through the email
Slack has for the user; a person maps to a Slack user through `slack:`, else through
users.lookupByEmail. Lookups are cached; a user who maps to nobody is refused (fail closed).
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


class SlackDirectory:
    def __init__(
        self,
        client: AsyncWebClient,
        policy: Callable[[], Policy],
        *,
        ttl: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.policy = policy
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
        if user.get("deleted") or user.get("is_bot"):
            return _MISSING
        return str((user.get("profile") or {}).get("email") or _MISSING)

    async def user_id_for(self, person: Person) -> str | None:
        if person.slack:
            return person.slack
        email = person.email.lower()
        cached = self._cached(self._user_by_email, email)
        if cached is None:
            try:
                response = await self.client.users_lookupByEmail(email=email)
                cached = str((response.get("user") or {}).get("id") or _MISSING)
            except SlackApiError as error:
                if error.response.get("error") != "users_not_found":
                    raise
                cached = _MISSING
            self._user_by_email[email] = (self.monotonic(), cached)
        return cached or None

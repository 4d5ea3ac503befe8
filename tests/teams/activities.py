"""Inbound Bot Framework activities shaped like what Teams sends (see
tests/vendor/teams/*.json): a personal message, an Adaptive Card `Action.Execute` invoke,
an installationUpdate and a conversationUpdate for the bot being added.

    teams = TeamsActivities(service_url=connector.url, app_id=APP_ID, tenant_id=TENANT_ID)
    activity = teams.invoke(DANA, verb="approve", data={"case": "EXC-000001"},
                            reply_to_id=card_activity_id)

Every activity carries serviceUrl, channelId "msteams", from {id "29:...", name, aadObjectId},
conversation {id, conversationType "personal", tenantId}, recipient (the bot, "28:<app id>") and
channelData.tenant.id. The personal conversation id is stable per user, so a card sent to
`teams.conversation_id(user)` is in the conversation the user's invoke comes from.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CHANNEL_ID = "msteams"
INVOKE_NAME = "adaptiveCard/action"


@dataclass(frozen=True, slots=True)
class TeamsUser:
    id: str  # "29:..." (the activity's from.id, the policy's `teams:` field)
    name: str
    aad_object_id: str  # the policy's `aad:` field
    email: str | None = None  # Teams reports it in the roster (userPrincipalName), not here

    @classmethod
    def make(cls, name: str, email: str | None = None) -> TeamsUser:
        """A user with ids derived from the name."""
        digest = hashlib.sha256(name.encode()).hexdigest()
        return cls(
            id=f"29:1{digest[:40]}",
            name=name,
            aad_object_id=str(uuid.UUID(digest[:32])),
            email=email,
        )


class TeamsActivities:
    def __init__(
        self,
        *,
        service_url: str,
        app_id: str,
        tenant_id: str,
        bot_name: str = "Procurement Exceptions",
        locale: str = "en-US",
    ) -> None:
        self.service_url = service_url
        self.app_id = app_id
        self.tenant_id = tenant_id
        self.bot_name = bot_name
        self.locale = locale
        self._ids = itertools.count(1772442000000)

    @property
    def bot_id(self) -> str:
        return f"28:{self.app_id}"

    def conversation_id(self, user: TeamsUser) -> str:
        """The 1:1 chat between `user` and the bot (stable)."""
        digest = hashlib.sha256(f"{self.app_id}|{user.id}".encode()).hexdigest()
        return f"a:1{digest}"

    def _base(
        self,
        kind: str,
        user: TeamsUser,
        *,
        conversation_id: str | None = None,
        timestamp: datetime | None = None,
    ) -> dict[str, Any]:
        moment = timestamp or datetime.now(UTC)
        return {
            "type": kind,
            "id": str(next(self._ids)),
            "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "localTimestamp": moment.isoformat(timespec="milliseconds"),
            "serviceUrl": self.service_url,
            "channelId": CHANNEL_ID,
            "from": {"id": user.id, "name": user.name, "aadObjectId": user.aad_object_id},
            "conversation": {
                "conversationType": "personal",
                "tenantId": self.tenant_id,
                "id": conversation_id or self.conversation_id(user),
            },
            "recipient": {"id": self.bot_id, "name": self.bot_name},
            "entities": [
                {
                    "locale": self.locale,
                    "country": "US",
                    "platform": "Web",
                    "timezone": "Europe/Berlin",
                    "type": "clientInfo",
                }
            ],
            "channelData": {"tenant": {"id": self.tenant_id}},
            "locale": self.locale,
            "localTimezone": "Europe/Berlin",
        }

    def message(self, user: TeamsUser, text: str, **options: Any) -> dict[str, Any]:
        """A personal chat message from `user`. Options: conversation_id, timestamp."""
        activity = self._base("message", user, **options)
        activity.update({"textFormat": "plain", "text": text})
        return activity

    def invoke(
        self,
        user: TeamsUser,
        *,
        verb: str,
        data: Mapping[str, Any] | None = None,
        reply_to_id: str | None = None,
        title: str | None = None,
        trigger: str = "manual",
        **options: Any,
    ) -> dict[str, Any]:
        """A press of an `Action.Execute` on a card (`reply_to_id`: the card's activity id).
        `data` is the action's data merged with the card's inputs (e.g. the rationale), as
        Teams sends it. `trigger="automatic"` is a `refresh`."""
        activity = self._base("invoke", user, **options)
        activity.update(
            {
                "name": INVOKE_NAME,
                "value": {
                    "action": {
                        "type": "Action.Execute",
                        "title": title or verb.capitalize(),
                        "verb": verb,
                        "data": dict(data or {}),
                    },
                    "trigger": trigger,
                },
            }
        )
        activity["channelData"]["source"] = {"name": "message"}
        if reply_to_id is not None:
            activity["replyToId"] = reply_to_id
            activity["channelData"]["legacy"] = {"replyToId": reply_to_id}
        return activity

    def installation(
        self, user: TeamsUser, *, action: str = "add", **options: Any
    ) -> dict[str, Any]:
        """The app installed (`action="add"`) or removed ("remove") in `user`'s personal scope."""
        activity = self._base("installationUpdate", user, **options)
        activity["action"] = action
        activity["channelData"]["source"] = None
        return activity

    def bot_added(self, user: TeamsUser, **options: Any) -> dict[str, Any]:
        """conversationUpdate: the bot was added to `user`'s personal chat."""
        activity = self._base("conversationUpdate", user, **options)
        activity["membersAdded"] = [{"id": self.bot_id}]
        activity.pop("locale", None)
        return activity

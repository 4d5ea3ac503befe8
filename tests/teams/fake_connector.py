"""A fake Bot Connector REST API over real HTTP: the `serviceUrl` of the test activities.

    async with FakeConnector(accepted_tokens=fake_token.issued_tokens) as connector:
        activity = TeamsActivities(service_url=connector.url, ...).message(user, "help")

`url` is `http://127.0.0.1:PORT/amer/` (a path prefix, like the real
`https://smba.trafficmanager.net/amer/`, so an adapter that drops it with urljoin fails).

    POST /v3/conversations                                 create a 1:1 chat -> {"id"}
    POST /v3/conversations/{conversation}/activities       send -> {"id"}
    POST /v3/conversations/{conversation}/activities/{id}  reply -> {"id"}
    PUT  /v3/conversations/{conversation}/activities/{id}  update (404 if unknown) -> {"id"}
    DELETE /v3/conversations/{conversation}/activities/{id}  delete (404 if unknown)

Every request needs `Authorization: Bearer <token>` with a token in `accepted_tokens` (a live
set: pass the token fake's `issued_tokens`), else 401. Bodies over 28 KB get 413. Every request
is recorded in `calls`; `activities_in(conversation)` is the state after updates and deletes.
`fail_next(status, times, retry_after)` answers the next requests with 429/412/5xx.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.teams.fake_server import FakeServer, FaultQueue, fault_response

MAX_BODY_BYTES = 28 * 1024  # Teams refuses messages over ~28 KB
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
UNAUTHORIZED = {"message": "Authorization has been denied for this request."}

_Action = Callable[[Any, str | None, str | None], web.Response]


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@dataclass(frozen=True, slots=True)
class Call:
    """One request as the fake saw it, and the status it answered."""

    method: str
    path: str  # relative to `url`, decoded, e.g. "v3/conversations/a:1x/activities"
    json: Any  # the parsed body (None if none or not JSON)
    token: str | None  # the bearer token, if any
    status: int
    conversation_id: str | None
    activity_id: str | None
    at: float  # time.monotonic() on arrival
    body_bytes: int = 0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(slots=True)
class Activity:
    """An activity as it stands now (`updates` counts the PUTs on it)."""

    id: str
    conversation_id: str
    body: dict[str, Any]
    reply_to_id: str | None = None
    updates: int = 0

    @property
    def type(self) -> str | None:
        value = self.body.get("type")
        return value if isinstance(value, str) else None

    @property
    def text(self) -> str | None:
        value = self.body.get("text")
        return value if isinstance(value, str) else None

    @property
    def cards(self) -> list[dict[str, Any]]:
        """The Adaptive Cards attached (their `content`)."""
        return [
            a["content"]
            for a in self.body.get("attachments") or []
            if isinstance(a, dict) and a.get("contentType") == ADAPTIVE_CARD
        ]


@dataclass(slots=True)
class Conversation:
    id: str
    tenant_id: str | None = None
    bot_id: str | None = None
    members: list[str] = field(default_factory=list)
    activities: dict[str, Activity] = field(default_factory=dict)  # in sending order


class FakeConnector(FakeServer):
    def __init__(
        self,
        *,
        accepted_tokens: Collection[str] | None = None,
        base_path: str = "/amer/",
        strict_conversations: bool = False,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        """`strict_conversations`: sending to a conversation that was never created here (nor
        `add_conversation`ed) is a 404; by default any conversation id is accepted, since the
        ones in inbound test activities exist only in the test."""
        super().__init__()
        if not base_path.startswith("/") or not base_path.endswith("/"):
            raise ValueError("base_path must start and end with '/'")
        self.accepted_tokens: Collection[str] = (
            accepted_tokens if accepted_tokens is not None else set()
        )
        self.base_path = base_path
        self.strict_conversations = strict_conversations
        self.max_body_bytes = max_body_bytes
        self.calls: list[Call] = []
        self._conversations: dict[str, Conversation] = {}
        self._faults = FaultQueue()
        self._profiles: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1767765488000)

    @property
    def url(self) -> str:
        """The serviceUrl: http://127.0.0.1:PORT/amer/ (ends in '/')."""
        return self.origin + self.base_path

    # --- state --------------------------------------------------------------------------

    def add_conversation(
        self, conversation_id: str, *, tenant_id: str | None = None, members: Collection[str] = ()
    ) -> Conversation:
        conversation = self._conversations.setdefault(
            conversation_id, Conversation(conversation_id, tenant_id)
        )
        conversation.members.extend(m for m in members if m not in conversation.members)
        return conversation

    def add_profile(
        self,
        user_id: str,
        *,
        email: str,
        name: str = "",
        upn: str | None = None,
        role: str = "user",
        tenant_id: str | None = None,
    ) -> None:
        """What the roster (GET .../members/{user}) reports about a user."""
        self._profiles[user_id] = {
            "id": user_id,
            "name": name,
            "email": email,
            "userPrincipalName": upn or email,
            "userRole": role,
            **({"tenantId": tenant_id} if tenant_id else {}),
        }

    def conversation(self, conversation_id: str) -> Conversation | None:
        return self._conversations.get(conversation_id)

    @property
    def conversations(self) -> list[Conversation]:
        return list(self._conversations.values())

    def activities_in(self, conversation_id: str) -> list[Activity]:
        conversation = self._conversations.get(conversation_id)
        return list(conversation.activities.values()) if conversation else []

    def activity(self, conversation_id: str, activity_id: str) -> Activity | None:
        conversation = self._conversations.get(conversation_id)
        return conversation.activities.get(activity_id) if conversation else None

    def calls_to(self, method: str | None = None, *, ok: bool | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if (method is None or c.method == method.upper()) and (ok is None or c.ok == ok)
        ]

    def fail_next(
        self,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        *,
        method: str | None = None,
    ) -> None:
        """Answer the next `times` authorised requests (of `method`, if given) with `status`
        (429 with `Retry-After: retry_after` seconds if given); nothing changes."""
        self._faults.add(status, times, retry_after, method)

    def reset(self) -> None:
        self.calls.clear()
        self._conversations.clear()
        self._faults.clear()

    # --- HTTP ---------------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        base = self.base_path + "v3/conversations"
        app.router.add_post(base, self._create_conversation)
        app.router.add_post(base + "/{conversation}/activities", self._send)
        app.router.add_post(base + "/{conversation}/activities/{activity}", self._reply)
        app.router.add_put(base + "/{conversation}/activities/{activity}", self._update)
        app.router.add_delete(base + "/{conversation}/activities/{activity}", self._delete)
        app.router.add_get(base + "/{conversation}/members/{member}", self._member)

    async def _member(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self.accepted_tokens:
            return web.json_response(UNAUTHORIZED, status=401)
        profile = self._profiles.get(request.match_info["member"])
        if profile is None:
            return _error(404, "MemberNotFoundInConversation", "member not found")
        return web.json_response(profile)

    async def _create_conversation(self, request: web.Request) -> web.Response:
        return await self._handle(request, self._do_create)

    async def _send(self, request: web.Request) -> web.Response:
        return await self._handle(request, self._do_send)

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._handle(request, self._do_send)

    async def _update(self, request: web.Request) -> web.Response:
        return await self._handle(request, self._do_update)

    async def _delete(self, request: web.Request) -> web.Response:
        return await self._handle(request, self._do_delete)

    async def _handle(self, request: web.Request, action: _Action) -> web.Response:
        arrived = time.monotonic()
        raw = await request.read()
        conversation_id = request.match_info.get("conversation")
        activity_id = request.match_info.get("activity")
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None

        response: web.Response
        if bearer is None or bearer not in self.accepted_tokens:
            response = web.json_response(UNAUTHORIZED, status=401)
        elif fault := self._faults.take(request.method):
            response = fault_response(
                fault, {"error": {"code": "Injected", "message": f"injected {fault.status}"}}
            )
        elif len(raw) > self.max_body_bytes:
            response = _error(413, "MessageSizeTooBig", "Message size too big")
        elif request.method != "DELETE" and not isinstance(body, dict):
            response = _error(400, "BadSyntax", "the body must be a JSON object")
        else:
            response = action(body, conversation_id, activity_id)
        self.calls.append(
            Call(
                method=request.method,
                path=request.path.removeprefix(self.base_path),
                json=body,
                token=bearer,
                status=response.status,
                conversation_id=conversation_id,
                activity_id=activity_id,
                at=arrived,
                body_bytes=len(raw),
            )
        )
        return response

    def _new_id(self) -> str:
        return str(next(self._ids))

    def _do_create(self, body: dict[str, Any], _c: str | None, _a: str | None) -> web.Response:
        bot = body.get("bot")
        members = body.get("members")
        channel_data = body.get("channelData")
        tenant = body.get("tenantId") or (
            channel_data.get("tenant", {}).get("id") if isinstance(channel_data, dict) else None
        )
        if not isinstance(bot, dict) or not bot.get("id"):
            return _error(400, "BadArgument", "bot is required")
        if (
            not isinstance(members, list)
            or len(members) != 1
            or not isinstance(members[0], dict)
            or not members[0].get("id")
        ):
            return _error(400, "BadArgument", "exactly one member with an id is required")
        if not tenant:
            return _error(400, "BadArgument", "tenantId or channelData.tenant.id is required")
        member = str(members[0]["id"])
        for existing in self._conversations.values():  # Teams reuses the 1:1 chat
            if (
                existing.members == [member]
                and existing.bot_id == bot["id"]
                and existing.tenant_id == tenant
            ):
                return web.json_response({"id": existing.id})
        conversation_id = "a:1" + uuid.uuid4().hex
        self._conversations[conversation_id] = Conversation(
            conversation_id, str(tenant), str(bot["id"]), [member]
        )
        return web.json_response({"id": conversation_id}, status=201)

    def _find_conversation(self, conversation_id: str) -> Conversation | None:
        if conversation_id in self._conversations or self.strict_conversations:
            return self._conversations.get(conversation_id)
        return self.add_conversation(conversation_id)

    def _do_send(
        self, body: dict[str, Any], conversation_id: str | None, reply_to: str | None
    ) -> web.Response:
        assert conversation_id is not None
        conversation = self._find_conversation(conversation_id)
        if conversation is None:
            return _error(404, "ConversationNotFound", "Conversation not found.")
        if not body.get("type"):
            return _error(400, "BadArgument", "Activity type is required")
        activity_id = self._new_id()
        conversation.activities[activity_id] = Activity(
            activity_id,
            conversation_id,
            copy.deepcopy(body),
            reply_to_id=reply_to or body.get("replyToId"),
        )
        return web.json_response({"id": activity_id}, status=201)

    def _do_update(
        self, body: dict[str, Any], conversation_id: str | None, activity_id: str | None
    ) -> web.Response:
        assert conversation_id is not None
        assert activity_id is not None
        activity = self.activity(conversation_id, activity_id)
        if activity is None:
            return _error(404, "ActivityNotFound", "Activity not found in conversation.")
        if not body.get("type"):
            return _error(400, "BadArgument", "Activity type is required")
        activity.body = copy.deepcopy(body)
        activity.updates += 1
        return web.json_response({"id": activity_id})

    def _do_delete(
        self, _body: Any, conversation_id: str | None, activity_id: str | None
    ) -> web.Response:
        assert conversation_id is not None
        assert activity_id is not None
        conversation = self._conversations.get(conversation_id)
        if conversation is None or conversation.activities.pop(activity_id, None) is None:
            return _error(404, "ActivityNotFound", "Activity not found in conversation.")
        return web.Response(status=200)

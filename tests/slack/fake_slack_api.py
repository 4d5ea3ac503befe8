"""A fake Slack Web API served over real HTTP (aiohttp on 127.0.0.1, a random port), for tests.

It records every call (method, parsed params, token, the answer) and answers like Slack: the
methods the bot uses, with Slack's errors for what Slack refuses (unknown method, bad token,
missing scope, missing arguments, Block Kit limits, unknown message ts...). Faults are injected
per method: the next N calls answered with 429 + Retry-After, or with 500.

    async with FakeSlackAPI(users=[SlackUser("U1", "a@x.example")]) as fake:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)

Both request shapes Slack accepts are read: JSON bodies (token in the Authorization header) and
form bodies or query strings (token in the header or a `token` field; `blocks` and `view` as
JSON strings). `response_url(key)` gives a URL that records what is posted to it (Bolt's
`respond()`), checked against the same limits.
"""

from __future__ import annotations

import copy
import json
import socket
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.slack.block_kit_rules import block_errors, view_errors

BOT_TOKEN = "xoxb-fake-bot-token"
TEAM_ID = "T0FAKE"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
MESSAGE_TEXT_MAX = 40_000  # longer `text` is refused with msg_too_long

# The scope each method needs (methods not listed need none).
METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.open": "im:write",
    "users.info": "users:read",
    "users.lookupByEmail": "users:read.email",
}
ALL_SCOPES = frozenset({"chat:write", "commands", "im:write", "users:read", "users:read.email"})


@dataclass(frozen=True, slots=True)
class SlackUser:
    id: str
    email: str
    real_name: str = ""
    name: str = ""
    guest: bool = False  # a multi- or single-channel guest (is_restricted)
    team_id: str | None = None  # another organisation's, for a Slack Connect user


@dataclass(frozen=True, slots=True)
class Call:
    """One request as the fake saw it, and what it answered."""

    method: str
    params: dict[str, Any]
    token: str | None
    status: int
    response: dict[str, Any]
    at: float  # time.monotonic() on arrival

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response.get("ok") is True

    @property
    def error(self) -> str | None:
        error = self.response.get("error")
        return error if isinstance(error, str) else None


@dataclass(slots=True)
class Message:
    """A message as it stands now (chat.update edits it in place; `updates` counts edits)."""

    channel: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    updates: int = 0


@dataclass(frozen=True, slots=True)
class Ephemeral:
    channel: str
    user: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Fault:
    status: int
    retry_after: int | None


class SlackRefusal(Exception):
    """Raised inside a method handler: answer `{"ok": false, "error": ...}` (HTTP 200)."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _missing(*names: str) -> SlackRefusal:
    return SlackRefusal(
        "invalid_arguments",
        response_metadata={"messages": [f"[ERROR] missing required field: {n}" for n in names]},
    )


def _decode_json_fields(params: dict[str, Any]) -> None:
    for key in ("blocks", "view", "attachments"):
        if isinstance(params.get(key), str):
            try:
                params[key] = json.loads(params[key])
            except json.JSONDecodeError:
                continue  # left as text: the checks below refuse it


@dataclass
class _State:
    calls: list[Call] = field(default_factory=list)
    messages: dict[str, list[Message]] = field(default_factory=lambda: defaultdict(list))
    ephemerals: list[Ephemeral] = field(default_factory=list)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # view id -> view
    opened: list[str] = field(default_factory=list)  # view ids from views.open, in order
    homes: dict[str, str] = field(default_factory=dict)  # user id -> home view id
    hooks: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    faults: dict[str, deque[_Fault]] = field(default_factory=lambda: defaultdict(deque))
    triggers: set[str] = field(default_factory=set)


class FakeSlackAPI:
    def __init__(
        self,
        *,
        users: Iterable[SlackUser] = (),
        tokens: Iterable[str] = (BOT_TOKEN,),
        channels: Iterable[str] = (),
    ) -> None:
        self._tokens = set(tokens)
        self._users: dict[str, SlackUser] = {}
        self._channels: set[str] = set(channels)
        self._scopes = set(ALL_SCOPES)
        self._counter = 0
        self._state = _State()
        self._runner: web.AppRunner | None = None
        self._port = 0
        for user in users:
            self.add_user(user)
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "conversations.open": self._conversations_open,
            "users.info": self._users_info,
            "users.lookupByEmail": self._lookup_by_email,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
            "views.update": self._views_update,
        }

    # --- running ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/hooks/{key}", self._handle_hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlackAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """The Web API base URL, for `AsyncWebClient(base_url=...)` / SLACK_API_URL."""
        return f"http://127.0.0.1:{self._port}/api/"

    def response_url(self, key: str) -> str:
        """A response_url whose posts are kept under `key` (see `responses`)."""
        return f"http://127.0.0.1:{self._port}/hooks/{key}"

    # --- the workspace ------------------------------------------------------------------

    def add_user(self, user: SlackUser) -> None:
        self._users[user.id] = user

    def add_channel(self, channel_id: str) -> None:
        """A channel the bot may post to (DMs are opened with conversations.open)."""
        self._channels.add(channel_id)

    @staticmethod
    def dm_channel(user_id: str) -> str:
        """The id of the bot's DM with `user_id` (what conversations.open answers)."""
        return f"D{user_id}"

    # --- faults -------------------------------------------------------------------------

    def fail_next(
        self, method: str, *, status: int = 429, times: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the next `times` calls of `method` with HTTP `status` (429 is `ratelimited`
        with a Retry-After header, 1 second unless given; 5xx is `fatal_error`)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        for _ in range(times):
            self._state.faults[method].append(_Fault(status, retry_after))

    def revoke_scope(self, scope: str) -> None:
        """Methods needing `scope` now answer `missing_scope` (users.info then omits email)."""
        self._scopes.discard(scope)

    def reset(self) -> None:
        """Forget calls, messages, views, responses and faults, and restore every scope. The
        workspace (users, channels, tokens) stays; message ts keep increasing."""
        self._state = _State()
        self._scopes = set(ALL_SCOPES)

    # --- what happened ------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self._state.calls if method is None or c.method == method]

    def messages_in(self, channel: str) -> list[Message]:
        """The messages of `channel` as they stand now (after updates), oldest first."""
        return copy.deepcopy(self._state.messages.get(channel, []))

    def message(self, channel: str, ts: str) -> Message | None:
        found = self._find(channel, ts)
        return copy.deepcopy(found) if found is not None else None

    def ephemerals(self, user: str | None = None) -> list[Ephemeral]:
        return [e for e in self._state.ephemerals if user is None or e.user == user]

    def views_opened(self) -> list[dict[str, Any]]:
        """Views opened with views.open, oldest first, as they stand now."""
        return [copy.deepcopy(self._state.views[v]) for v in self._state.opened]

    def home_of(self, user_id: str) -> dict[str, Any] | None:
        view_id = self._state.homes.get(user_id)
        return copy.deepcopy(self._state.views[view_id]) if view_id else None

    def responses(self, key: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self._state.hooks.get(key, []))

    # --- HTTP ---------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        token: str | None = None
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ").strip()
        if request.content_type == "application/json":
            body = await request.json() if request.can_read_body else {}
            params.update(body if isinstance(body, dict) else {})
        else:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
            if "token" in params:
                token = token or str(params.pop("token"))
        _decode_json_fields(params)
        status, answer, headers = self._answer(method, params, token)
        self._state.calls.append(Call(method, params, token, status, answer, at))
        return web.json_response(answer, status=status, headers=headers)

    def _answer(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        faults = self._state.faults.get(method)
        if faults:
            fault = faults.popleft()
            error = "ratelimited" if fault.status == 429 else "fatal_error"
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            return fault.status, {"ok": False, "error": error}, headers
        handler = self._methods.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        if token is None:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token not in self._tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        needed = METHOD_SCOPES.get(method)
        if needed is not None and needed not in self._scopes:
            provided = ",".join(sorted(self._scopes))
            refusal = {"ok": False, "error": "missing_scope", "needed": needed}
            return 200, {**refusal, "provided": provided}, {}
        headers = {"X-OAuth-Scopes": ",".join(sorted(self._scopes))}
        try:
            return 200, {"ok": True, **handler(params)}, headers
        except SlackRefusal as refusal:
            return 200, {"ok": False, "error": refusal.error, **refusal.extra}, headers

    async def _handle_hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        if "blocks" in body and block_errors(body["blocks"]):
            return web.Response(status=400, text="invalid_blocks")
        self._state.hooks[request.match_info["key"]].append(body)
        return web.Response(text="ok")

    # --- helpers ------------------------------------------------------------------------

    def _next_ts(self) -> str:
        self._counter += 1
        return f"{1_700_000_000 + self._counter}.{self._counter:06d}"

    def _find(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self._state.messages.get(channel, []) if m.ts == ts), None)

    def _user(self, user_id: Any) -> SlackUser:
        user = self._users.get(str(user_id))
        if user is None:
            raise SlackRefusal("user_not_found")
        return user

    def _channel(self, given: Any) -> str:
        """A channel the bot can post to; a user id stands for the DM with that user."""
        channel = str(given)
        if channel in self._channels:
            return channel
        if channel in self._users:
            dm = self.dm_channel(channel)
            self._channels.add(dm)
            return dm
        raise SlackRefusal("channel_not_found")

    @staticmethod
    def _content(params: dict[str, Any], *, required: bool = True) -> tuple[str | None, Any]:
        """The message's text and blocks, refused as Slack refuses them."""
        text = params.get("text")
        blocks = params.get("blocks")
        if text is not None and not isinstance(text, str):
            raise SlackRefusal("invalid_arguments")
        if required and not text and not blocks and not params.get("attachments"):
            raise SlackRefusal("no_text")
        if text is not None and len(text) > MESSAGE_TEXT_MAX:
            raise SlackRefusal("msg_too_long")
        if blocks is not None:
            if isinstance(blocks, str):
                raise SlackRefusal("invalid_blocks_format")
            errors = block_errors(blocks)
            if errors:
                raise SlackRefusal("invalid_blocks", response_metadata={"messages": errors})
        return text, blocks

    def _user_json(self, user: SlackUser) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "real_name": user.real_name,
            "display_name": user.name,
        }
        if "users:read.email" in self._scopes:
            profile["email"] = user.email
        return {
            "id": user.id,
            "team_id": user.team_id or TEAM_ID,
            "name": user.name or user.email.split("@")[0],
            "real_name": user.real_name,
            "deleted": False,
            "is_bot": False,
            "is_restricted": user.guest,
            "is_ultra_restricted": False,
            **({"is_stranger": True} if user.team_id else {}),
            "profile": profile,
        }

    # --- methods ------------------------------------------------------------------------

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake-workspace.slack.com/",
            "team": "Fake Workspace",
            "user": "approvals",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel"):
            raise _missing("channel")
        channel = self._channel(params["channel"])
        text, blocks = self._content(params)
        message = Message(channel, self._next_ts(), text, blocks or [], params.get("thread_ts"))
        self._state.messages[channel].append(message)
        return {"channel": channel, "ts": message.ts, "message": self._message_json(message)}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        missing = [name for name in ("channel", "ts") if not params.get(name)]
        if missing:
            raise _missing(*missing)
        message = self._find(str(params["channel"]), str(params["ts"]))
        if message is None:
            raise SlackRefusal("message_not_found")
        text, blocks = self._content(params)
        if text is not None:
            message.text = text
        if blocks is not None:  # omitted blocks are kept, as Slack does
            message.blocks = blocks
        message.updates += 1
        return {
            "channel": message.channel,
            "ts": message.ts,
            "text": message.text,
            "message": self._message_json(message),
        }

    def _message_json(self, message: Message) -> dict[str, Any]:
        return {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": message.text or "",
            "blocks": message.blocks,
            "ts": message.ts,
        }

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        missing = [name for name in ("channel", "user") if not params.get(name)]
        if missing:
            raise _missing(*missing)
        channel = self._channel(params["channel"])
        user = self._user(params["user"])
        text, blocks = self._content(params)
        ts = self._next_ts()
        self._state.ephemerals.append(Ephemeral(channel, user.id, ts, text, blocks or []))
        return {"message_ts": ts}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            return {"channel": {"id": self._channel(params["channel"])}}
        users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackRefusal("users_list_not_supplied")
        for user_id in users:
            self._user(user_id)
        if len(users) == 1:
            channel = self.dm_channel(users[0])
        else:
            channel = "G" + "".join(sorted(u[-4:] for u in users))
        self._channels.add(channel)
        return {"channel": {"id": channel}}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("user"):
            raise _missing("user")
        return {"user": self._user_json(self._user(params["user"]))}

    def _lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        email = str(params.get("email") or "").strip().lower()
        if not email:
            raise _missing("email")
        user = next((u for u in self._users.values() if u.email.lower() == email), None)
        if user is None:
            raise SlackRefusal("users_not_found")
        return {"user": self._user_json(user)}

    def _checked_view(self, params: dict[str, Any], kind: str) -> dict[str, Any]:
        view = params.get("view")
        if not isinstance(view, dict):
            raise SlackRefusal(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] view: invalid"]}
            )
        errors = view_errors(view)
        if not errors and view.get("type") != kind:
            errors = [f"[ERROR] must be {kind} [json-pointer:/view/type]"]
        if errors:
            raise SlackRefusal("invalid_arguments", response_metadata={"messages": errors})
        return view

    def _store_view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        self._counter += 1
        view_id = view_id or f"V{self._counter:08d}"
        stored = {
            **copy.deepcopy(view),
            "id": view_id,
            "team_id": TEAM_ID,
            "hash": f"{self._counter}.fakehash",
            "state": {"values": {}},
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "root_view_id": view_id,
            "bot_id": BOT_ID,
        }
        self._state.views[view_id] = stored
        return copy.deepcopy(stored)

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        missing = [name for name in ("trigger_id", "view") if not params.get(name)]
        if missing:
            raise _missing(*missing)
        trigger = str(params["trigger_id"])
        if trigger in self._state.triggers:
            raise SlackRefusal("exchanged_trigger_id")  # a trigger opens one view, once
        view = self._checked_view(params, "modal")
        self._state.triggers.add(trigger)
        stored = self._store_view(view)
        self._state.opened.append(stored["id"])
        return {"view": stored}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        missing = [name for name in ("user_id", "view") if not params.get(name)]
        if missing:
            raise _missing(*missing)
        user = self._user(params["user_id"])
        view = self._checked_view(params, "home")
        stored = self._store_view(view, self._state.homes.get(user.id))
        self._state.homes[user.id] = stored["id"]
        return {"view": stored}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = params.get("view_id")
        if not view_id and not params.get("external_id"):
            raise _missing("view_id")
        if not params.get("view"):
            raise _missing("view")
        if not view_id:
            view_id = next(
                (
                    k
                    for k, v in self._state.views.items()
                    if v.get("external_id") == params["external_id"]
                ),
                None,
            )
        current = self._state.views.get(str(view_id)) if view_id else None
        if current is None:
            raise SlackRefusal("not_found")
        if params.get("hash") and params["hash"] != current["hash"]:
            raise SlackRefusal("hash_conflict")
        view = self._checked_view(params, str(current["type"]))
        return {"view": self._store_view(view, str(view_id))}

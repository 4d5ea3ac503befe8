"""What Bolt is given on /slack/events: a signed body read once, strictly, and rebuilt here.

Bolt parses a body itself, before it checks the signature, and trusts its shape: a `payload`
that is not JSON or not an object, `actions` that are not a list of objects, a `view` or an
`event` that is a string, all made it raise (HTTP 500 with a traceback). So the edge checks the
signature first (bot.slack.signature), then reads the body here and gives Bolt, as JSON, a body
rebuilt from only the fields read and type-checked here: Bolt never sees a field this module
has not looked at.

`read_body` answers one of:

* `Accepted(body)`: what Bolt is to dispatch;
* `Dropped(400, reason)`: the body cannot be a request from Slack (not UTF-8, not a form, not
  JSON, not an object, too deeply nested, of no type Slack has, a field missing or of the wrong
  type, a form field given twice);
* `Dropped(200, reason)`: well formed, of a kind Slack has but this app never asks for
  (`view_closed`, shortcuts, `app_rate_limited`): acknowledged and dropped.

Well-formed requests for an action id, modal or command the app does not know go on to the
listeners, which acknowledge and drop them (cards.actions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

JsonObject = dict[str, Any]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_BODY_BYTES = 1024 * 1024  # an HTTP body from Slack is a few kilobytes
MAX_FORM_FIELDS = 32  # a slash command has about fifteen; an interaction one
MAX_DEPTH = 64  # nesting of JSON objects and arrays; Slack's payloads stay well under 20

# Interaction types Slack has, but that this app never asks for (no shortcut, no modal with
# notify_on_close, no external select, no legacy dialog): acknowledged and dropped.
NOT_ASKED_FOR = frozenset(
    {
        "block_suggestion",
        "dialog_cancellation",
        "dialog_submission",
        "dialog_suggestion",
        "interactive_message",
        "message_action",
        "shortcut",
        "view_closed",
        "workflow_step_edit",
    }
)
# The fields of a slash command that are kept (all text); the first four are required.
COMMAND_REQUIRED = ("command", "user_id", "trigger_id", "response_url")
COMMAND_FIELDS = (
    *COMMAND_REQUIRED,
    "text",
    "token",
    "team_id",
    "team_domain",
    "enterprise_id",
    "enterprise_name",
    "channel_id",
    "channel_name",
    "user_name",
    "api_app_id",
    "is_enterprise_install",
)


@dataclass(frozen=True, slots=True)
class Accepted:
    body: JsonObject


@dataclass(frozen=True, slots=True)
class Dropped:
    status: int  # 400, or 200 for an acknowledged no-op
    reason: str  # for the log; never echoes the body


class _Malformed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_body(raw: bytes, content_type: str) -> Accepted | Dropped:
    """The body of a signed request, checked; `content_type` without its parameters."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Dropped(400, "the body is not UTF-8")
    try:
        if content_type == JSON:
            return _event_body(_json_object(text, "the body"))
        if content_type == FORM:
            return _form_body(text)
    except _Malformed as malformed:
        return Dropped(400, malformed.reason)
    return Dropped(400, "the body is neither a form nor JSON")


def _too_deep(value: Any, limit: int) -> bool:
    """Whether objects and arrays nest deeper than `limit` (without recursing)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _json_object(text: str, what: str) -> JsonObject:
    try:
        value = json.loads(text)
    except RecursionError:  # the C decoder stops at the interpreter's recursion limit
        raise _Malformed(f"{what} is nested too deeply") from None
    except ValueError:
        raise _Malformed(f"{what} is not JSON, or not JSON that can be read") from None
    if not isinstance(value, dict):
        raise _Malformed(f"{what} is not a JSON object")
    if _too_deep(value, MAX_DEPTH):
        raise _Malformed(f"{what} is nested too deeply")
    return value


class _Fields:
    """Reads the fields of one JSON object into `out`; a field of the wrong type is
    _Malformed, a field not read is left out."""

    def __init__(self, value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise _Malformed(f"{where} is not an object")
        self.value: JsonObject = value
        self.where = where
        self.out: JsonObject = {}

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.value.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value):
            raise _Malformed(f"{self.where}.{key} is missing or not text")
        self.out[key] = value
        return value

    def flag(self, key: str) -> None:
        value = self.value.get(key)
        if value is None:
            return
        if not isinstance(value, bool):
            raise _Malformed(f"{self.where}.{key} is not true or false")
        self.out[key] = value

    def texts(self, *keys: str) -> None:
        for key in keys:
            self.text(key)

    def need(self, key: str) -> _Fields:
        """A field that must be an object."""
        child = _Fields(self.value.get(key), f"{self.where}.{key}")
        self.out[key] = child.out
        return child

    def obj(self, key: str) -> _Fields | None:
        """A field that is an object, or absent (or null)."""
        return None if self.value.get(key) is None else self.need(key)


# --- interactions and slash commands (form bodies) ----------------------------------------


def _form_body(text: str) -> Accepted | Dropped:
    try:
        fields = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError:
        raise _Malformed("the body is not form-encoded") from None
    form = dict(fields)
    if len(form) != len(fields):
        raise _Malformed("a form field is given twice")
    if "payload" in form:
        return _interaction(_json_object(form["payload"], "the payload"))
    if "command" in form:
        missing = [name for name in COMMAND_REQUIRED if not form.get(name)]
        if missing:
            raise _Malformed(f"a slash command without {', '.join(missing)}")
        return Accepted({name: form[name] for name in COMMAND_FIELDS if name in form})
    if form.get("ssl_check") == "1":  # Slack checking the certificate; Bolt answers it
        return Accepted({"ssl_check": "1", "token": form.get("token", "")})
    raise _Malformed("a form that is neither an interaction nor a slash command")


def _interaction(payload: JsonObject) -> Accepted | Dropped:
    kind = payload.get("type")
    if isinstance(kind, str) and kind in NOT_ASKED_FOR:
        return Dropped(200, f"a {kind} interaction, which this app never asks for")
    if kind not in ("block_actions", "view_submission"):
        raise _Malformed("an interaction of no type Slack has")
    p = _Fields(payload, kind)
    p.out["type"] = kind
    user = p.need("user")
    user.text("id", required=True)
    user.texts("team_id", "username", "name")
    if (team := p.obj("team")) is not None:
        team.texts("id", "domain")
    if (enterprise := p.obj("enterprise")) is not None:
        enterprise.texts("id", "name")
    p.texts("api_app_id", "trigger_id")
    p.flag("is_enterprise_install")
    if kind == "block_actions":
        _block_actions(p)
    else:
        _view_submission(p)
    return Accepted(p.out)


def _block_actions(p: _Fields) -> None:
    pressed = p.value.get("actions")
    if not isinstance(pressed, list) or not pressed:
        raise _Malformed("block_actions.actions is not a list of actions")
    read = []
    for index, action in enumerate(pressed):
        fields = _Fields(action, f"block_actions.actions[{index}]")
        fields.text("action_id", required=True)
        fields.texts("block_id", "type", "value", "action_ts")
        read.append(fields.out)
    p.out["actions"] = read
    if (channel := p.obj("channel")) is not None:
        channel.text("id", required=True)
        channel.text("name")
    if (container := p.obj("container")) is not None:
        container.texts("type", "channel_id", "message_ts", "view_id")
        container.flag("is_ephemeral")
    if (view := p.obj("view")) is not None:  # a press on the App Home
        view.texts("id", "type", "callback_id")
    p.text("response_url")


def _view_submission(p: _Fields) -> None:
    view = p.need("view")
    view.text("callback_id", required=True)
    view.texts("id", "type", "private_metadata", "hash", "root_view_id", "previous_view_id")
    state = view.need("state")
    values = state.value.get("values")
    # block_id -> action_id -> the input's state (an object; its fields are read by cards)
    if not isinstance(values, dict) or not all(
        isinstance(block, dict) and all(isinstance(element, dict) for element in block.values())
        for block in values.values()
    ):
        raise _Malformed("view_submission.view.state.values is not blocks of inputs")
    state.out["values"] = values


# --- the Events API (JSON bodies) ---------------------------------------------------------


def _event_body(body: JsonObject) -> Accepted | Dropped:
    kind = body.get("type")
    if kind == "app_rate_limited":
        return Dropped(200, "Slack reports that it holds back events: the app is rate limited")
    p = _Fields(body, "the event body")
    p.out["type"] = kind
    if kind == "url_verification":
        p.text("challenge", required=True)
        return Accepted(p.out)
    if kind != "event_callback":
        raise _Malformed("an Events API body of no type Slack has")
    p.texts("team_id", "api_app_id", "event_id", "enterprise_id")
    event = p.need("event")
    event.text("type", required=True)
    # The scalar fields of the event; nested ones (a message's blocks...) are not used.
    for key, value in event.value.items():
        if isinstance(value, str | int | float | bool):
            event.out[key] = value
    if event.out["type"] == "app_home_opened" and not isinstance(event.out.get("user"), str):
        raise _Malformed("app_home_opened without a user")
    return Accepted(p.out)

"""What an inbound activity must look like before anything reads it: refused, never a crash.

The body is read only after the token was verified (see `setup.TeamsEdge.handle`), at most
MAX_ACTIVITY_BYTES of it, and parsed with limits (`bot.safe_json`: depth, digits, no NaN or
Infinity); numbers must be within MAX_NUMBER (so finite), strings free of NUL and lone
surrogates (neither can be stored). Then every part the bot reads must have its type: the
activity's serviceUrl and channelId (checked against the token), `from`, `conversation`,
`recipient`, `channelData`, `entities` and a card action's `value`, with ids no longer than
the columns they are stored in. A card action's case and step must be whole numbers in range;
which case or action they name is for `activities` to answer (unknown ones get a card).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import StreamReader

from bot.safe_json import UnsafeJSON, parse_json
from cards.teams import RATIONALE_INPUT

MAX_ACTIVITY_BYTES = 256 * 1024
MAX_NUMBER = 2**53  # the largest integer JavaScript and a double carry exactly
MAX_ID = 2**31 - 1  # case and step ids are 32-bit integers in PostgreSQL
MAX_CASE_TEXT = 32  # "EXC-000123", or a case id sent as text
# The lengths of the columns of `teams_conversations` these values are stored in.
MAX_USER_ID, MAX_URL, MAX_CONVERSATION_ID, MAX_TENANT_ID = 200, 500, 500, 64
INVOKE_CARD_ACTION = "adaptiveCard/action"


class MalformedActivity(Exception):
    """The body is not an activity we can read; `reason` names what is wrong (no content)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


async def read_body(content: StreamReader, declared: int | None) -> bytes:
    """The request body, refused with 413 once it is longer than MAX_ACTIVITY_BYTES."""
    too_large = MalformedActivity(f"the body is over {MAX_ACTIVITY_BYTES} bytes", 413)
    if declared is not None and declared > MAX_ACTIVITY_BYTES:
        raise too_large
    raw = bytearray()
    while chunk := await content.read(MAX_ACTIVITY_BYTES + 1 - len(raw)):
        raw += chunk
        if len(raw) > MAX_ACTIVITY_BYTES:
            raise too_large
    return bytes(raw)


def parse_body(raw: bytes) -> dict[str, Any]:
    """The activity in `raw`, with a serviceUrl and a channelId (strings) to check the token
    against; MalformedActivity if it is not one."""
    try:
        activity = parse_json(raw)
    except UnsafeJSON as error:
        raise MalformedActivity(f"the body {error}") from None
    _check_values(activity)
    if not isinstance(activity, dict):
        raise MalformedActivity("the body is not an activity (a JSON object)")
    _text(activity, "serviceUrl", "", required=True, limit=MAX_URL)
    _text(activity, "channelId", "", required=True)
    return activity


def _check_values(value: Any) -> None:
    """Finite numbers within MAX_NUMBER, strings (keys too) that can be stored."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise MalformedActivity("a string holds a NUL character")
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise MalformedActivity("a string holds a lone surrogate") from None
        elif isinstance(item, int | float) and not abs(item) <= MAX_NUMBER:  # NaN too
            raise MalformedActivity("a number is out of range")


def _object(
    parent: Mapping[str, Any], key: str, where: str, *, required: bool = False
) -> Mapping[str, Any]:
    """parent[key] as an object; {} when it is absent (or null) and not required."""
    value = parent.get(key)
    if value is None:
        if required:
            raise MalformedActivity(f"{where}{key} is missing")
        return {}
    if not isinstance(value, dict):
        raise MalformedActivity(f"{where}{key} is not an object")
    return value


def _text(
    parent: Mapping[str, Any],
    key: str,
    where: str,
    *,
    required: bool = False,
    limit: int | None = None,
) -> None:
    value = parent.get(key)
    if value is None and not required:
        return
    if value is None or (required and value == ""):
        raise MalformedActivity(f"{where}{key} is missing")
    if not isinstance(value, str):
        raise MalformedActivity(f"{where}{key} is not text")
    if limit is not None and len(value) > limit:
        raise MalformedActivity(f"{where}{key} is longer than {limit} characters")


def _id_number(parent: Mapping[str, Any], key: str, where: str) -> None:
    """A case or step: absent, a whole number in 1..MAX_ID, or short text (a case ref)."""
    value = parent.get(key)
    if value is None:
        return
    if isinstance(value, str):
        if len(value) > MAX_CASE_TEXT:
            raise MalformedActivity(f"{where}{key} is longer than {MAX_CASE_TEXT} characters")
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedActivity(f"{where}{key} is not a whole number")
    if not 1 <= value <= MAX_ID:
        raise MalformedActivity(f"{where}{key} is out of range")


def check_shape(activity: Mapping[str, Any]) -> None:
    """MalformedActivity if a part the bot reads is missing or of the wrong type."""
    _text(activity, "type", "", required=True)
    for key in ("id", "name", "text", "replyToId", "locale"):
        _text(activity, key, "")
    sender = _object(activity, "from", "")
    _text(sender, "id", "from.", limit=MAX_USER_ID)
    _text(sender, "aadObjectId", "from.", limit=MAX_USER_ID)
    _text(sender, "name", "from.")
    conversation = _object(activity, "conversation", "", required=True)
    _text(conversation, "id", "conversation.", required=True, limit=MAX_CONVERSATION_ID)
    _text(conversation, "conversationType", "conversation.")
    _text(conversation, "tenantId", "conversation.", limit=MAX_TENANT_ID)
    recipient = _object(activity, "recipient", "")
    _text(recipient, "id", "recipient.")
    _text(recipient, "name", "recipient.")
    tenant = _object(_object(activity, "channelData", ""), "tenant", "channelData.")
    _text(tenant, "id", "channelData.tenant.", limit=MAX_TENANT_ID)
    _check_entities(activity.get("entities"))
    if activity["type"] == "invoke":
        card_action = activity.get("name") == INVOKE_CARD_ACTION
        value = _object(activity, "value", "", required=card_action)
        if card_action:
            _check_card_action(value)


def _check_entities(entities: Any) -> None:
    if entities is None:
        return
    if not isinstance(entities, list):
        raise MalformedActivity("entities is not a list")
    for index, entity in enumerate(entities):
        where = f"entities[{index}]."
        if not isinstance(entity, dict):
            raise MalformedActivity(f"{where[:-1]} is not an object")
        _text(entity, "type", where)
        if entity.get("type") == "mention":
            _text(entity, "text", where)
            mentioned = _object(entity, "mentioned", where)
            _text(mentioned, "id", f"{where}mentioned.")
            _text(mentioned, "name", f"{where}mentioned.")


def _check_card_action(value: Mapping[str, Any]) -> None:
    action = _object(value, "action", "value.", required=True)
    _text(action, "verb", "value.action.")
    data = _object(action, "data", "value.action.")
    where = "value.action.data."
    _text(data, "action", where)
    _text(data, "case_ref", where, limit=MAX_CASE_TEXT)
    _text(data, RATIONALE_INPUT, where)
    _id_number(data, "case", where)
    _id_number(data, "step", where)

"""Reading Slack payloads defensively: a field of another type than Slack's reads as absent.

Over HTTP the edge has already checked the shape (bot.slack.inbound); in Socket Mode payloads
reach the listeners as Slack sent them, so the work functions read through these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeGuard

from cards import actions


def as_object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def user_id(body: Mapping[str, Any]) -> str:
    return as_text(as_object(body.get("user")).get("id"))


def state_values(body: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """A submitted view's `state.values`: block_id -> action_id -> the input's state."""
    values = as_object(as_object(as_object(body.get("view")).get("state")).get("values"))
    return {block: inputs for block, inputs in values.items() if isinstance(inputs, Mapping)}


def rationale_metadata(body: Mapping[str, Any]) -> tuple[int, int, str, str | None, bool] | None:
    """(case, step, action id, channel, home) as _ask_rationale wrote them, or None."""
    try:
        meta = json.loads(as_text(as_object(body.get("view")).get("private_metadata")))
    except (ValueError, RecursionError):
        return None
    if not isinstance(meta, dict):
        return None
    case, step, action_id = meta.get("case"), meta.get("step"), meta.get("action")
    channel, home = meta.get("channel"), meta.get("home", False)
    if not (_is_id(case) and _is_id(step) and isinstance(action_id, str)):
        return None
    if actions.parse_button_value(actions.button_value(case, step)) is None:
        return None  # more digits than a button value carries
    if not (channel is None or isinstance(channel, str)) or not isinstance(home, bool):
        return None
    return case, step, action_id, channel, home


def _is_id(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def from_home(body: Mapping[str, Any]) -> bool:
    """A press on the App Home (its container is a view, not a message)."""
    return as_object(body.get("container")).get("type") == "view"

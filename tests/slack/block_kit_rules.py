"""What Slack refuses in Block Kit, checked the way the Web API checks it.

Written independently of cards.slack_blocks on purpose (its own numbers, from Slack's Block Kit
reference), so that the renderer and this checker keep each other honest. Each problem is reported
like Slack's `response_metadata.messages`: "[ERROR] <what> [json-pointer:/blocks/3/text/text]".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_TEXT_OBJECT = 3000
_LIMITS = {
    "message_blocks": 50,
    "view_blocks": 100,
    "section_text": 3000,
    "section_fields": 10,
    "field_text": 2000,
    "header_text": 150,
    "context_elements": 10,
    "actions_elements": 25,
    "button_text": 75,
    "button_value": 2000,
    "button_url": 3000,
    "id": 255,
    "input_label": 2000,
    "input_hint": 2000,
    "placeholder": 150,
    "text_input_max": 3000,
    "option_text": 75,
    "option_value": 150,
    "select_options": 100,
    "radio_options": 10,
    "view_title": 24,
    "private_metadata": 3000,
}
_BLOCK_TYPES = {"section", "header", "divider", "actions", "context", "input", "image", "rich_text"}


def _error(pointer: str, what: str) -> str:
    return f"[ERROR] {what} [json-pointer:{pointer}]"


def _text(obj: Any, pointer: str, limit: int, *, plain_only: bool = False) -> Iterator[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        yield _error(pointer, "must be a text object")
        return
    if plain_only and obj["type"] != "plain_text":
        yield _error(pointer + "/type", "must be plain_text")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        yield _error(pointer + "/text", "must be more than 0 characters")
    elif len(text) > limit:
        yield _error(pointer + "/text", f"must be less than {limit + 1} characters")


def _id(value: Any, pointer: str) -> Iterator[str]:
    if value is None:
        return
    if not isinstance(value, str) or not value or len(value) > _LIMITS["id"]:
        yield _error(pointer, f"must be 1 to {_LIMITS['id']} characters")


def _options(options: Any, pointer: str, limit: int) -> Iterator[str]:
    if not isinstance(options, list) or not options:
        yield _error(pointer, "must have at least 1 option")
        return
    if len(options) > limit:
        yield _error(pointer, f"must have no more than {limit} items")
    for i, option in enumerate(options):
        at = f"{pointer}/{i}"
        yield from _text(option.get("text"), at + "/text", _LIMITS["option_text"])
        value = option.get("value")
        if not isinstance(value, str) or not value or len(value) > _LIMITS["option_value"]:
            yield _error(at + "/value", f"must be 1 to {_LIMITS['option_value']} characters")


def _element(element: Any, pointer: str) -> Iterator[str]:
    if not isinstance(element, dict):
        yield _error(pointer, "must be an object")
        return
    kind = element.get("type")
    yield from _id(element.get("action_id"), pointer + "/action_id")
    if "placeholder" in element:
        yield from _text(
            element["placeholder"],
            pointer + "/placeholder",
            _LIMITS["placeholder"],
            plain_only=True,
        )
    if kind == "button":
        yield from _text(
            element.get("text"), pointer + "/text", _LIMITS["button_text"], plain_only=True
        )
        value = element.get("value")
        if value is not None and (
            not isinstance(value, str) or len(value) > _LIMITS["button_value"]
        ):
            yield _error(
                pointer + "/value", f"must be less than {_LIMITS['button_value'] + 1} characters"
            )
        url = element.get("url")
        if url is not None and len(str(url)) > _LIMITS["button_url"]:
            yield _error(
                pointer + "/url", f"must be less than {_LIMITS['button_url'] + 1} characters"
            )
        if element.get("style") not in (None, "primary", "danger"):
            yield _error(pointer + "/style", "must be primary or danger")
    elif kind in ("static_select", "radio_buttons", "checkboxes"):
        limit = _LIMITS["radio_options"] if kind != "static_select" else _LIMITS["select_options"]
        if "option_groups" in element:
            groups = element["option_groups"]
            if not isinstance(groups, list) or len(groups) > _LIMITS["select_options"]:
                yield _error(pointer + "/option_groups", "must have no more than 100 items")
            else:
                for g, group in enumerate(groups):
                    at = f"{pointer}/option_groups/{g}"
                    yield from _text(group.get("label"), at + "/label", _LIMITS["option_text"])
                    yield from _options(group.get("options"), at + "/options", limit)
        else:
            yield from _options(element.get("options"), pointer + "/options", limit)
    elif kind in ("plain_text_input", "number_input"):
        max_length = element.get("max_length")
        if max_length is not None and not 0 < max_length <= _LIMITS["text_input_max"]:
            yield _error(pointer + "/max_length", f"must be at most {_LIMITS['text_input_max']}")


def _block(block: Any, pointer: str) -> Iterator[str]:
    if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
        yield _error(pointer + "/type", "must be a known block type")
        return
    kind = block["type"]
    yield from _id(block.get("block_id"), pointer + "/block_id")
    if kind == "section":
        if "text" not in block and "fields" not in block:
            yield _error(pointer, "must provide text or fields")
        if "text" in block:
            yield from _text(block["text"], pointer + "/text", _LIMITS["section_text"])
        fields = block.get("fields", [])
        if len(fields) > _LIMITS["section_fields"]:
            yield _error(
                pointer + "/fields", f"must have no more than {_LIMITS['section_fields']} items"
            )
        for i, field in enumerate(fields):
            yield from _text(field, f"{pointer}/fields/{i}", _LIMITS["field_text"])
        if "accessory" in block:
            yield from _element(block["accessory"], pointer + "/accessory")
    elif kind == "header":
        yield from _text(
            block.get("text"), pointer + "/text", _LIMITS["header_text"], plain_only=True
        )
    elif kind == "context":
        elements = block.get("elements") or []
        if not elements or len(elements) > _LIMITS["context_elements"]:
            yield _error(
                pointer + "/elements", f"must have 1 to {_LIMITS['context_elements']} items"
            )
        for i, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") in ("plain_text", "mrkdwn"):
                yield from _text(element, f"{pointer}/elements/{i}", _TEXT_OBJECT)
    elif kind == "actions":
        elements = block.get("elements") or []
        if not elements or len(elements) > _LIMITS["actions_elements"]:
            yield _error(
                pointer + "/elements", f"must have 1 to {_LIMITS['actions_elements']} items"
            )
        ids = [e.get("action_id") for e in elements if isinstance(e, dict) and e.get("action_id")]
        if len(ids) != len(set(ids)):
            yield _error(pointer + "/elements", "action_id values must be unique in a block")
        for i, element in enumerate(elements):
            yield from _element(element, f"{pointer}/elements/{i}")
    elif kind == "input":
        yield from _text(
            block.get("label"), pointer + "/label", _LIMITS["input_label"], plain_only=True
        )
        if "hint" in block:
            yield from _text(
                block["hint"], pointer + "/hint", _LIMITS["input_hint"], plain_only=True
            )
        yield from _element(block.get("element"), pointer + "/element")


def block_errors(blocks: Any, *, surface: str = "message") -> list[str]:
    """Every limit `blocks` breaks for a `surface` ("message", "modal" or "home")."""
    if not isinstance(blocks, list):
        return [_error("/blocks", "must be an array")]
    errors: list[str] = []
    limit = _LIMITS["message_blocks"] if surface == "message" else _LIMITS["view_blocks"]
    if len(blocks) > limit:
        errors.append(_error("/blocks", f"must have no more than {limit} items"))
    block_ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id")]
    if len(block_ids) != len(set(block_ids)):
        errors.append(_error("/blocks", "block_id values must be unique"))
    for i, block in enumerate(blocks):
        errors.extend(_block(block, f"/blocks/{i}"))
    return errors


def view_errors(view: Any) -> list[str]:
    """Every rule a view (views.open / update / publish) breaks."""
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        return [_error("/view/type", "must be modal or home")]
    errors = block_errors(view.get("blocks"), surface=view["type"])
    for key in ("callback_id", "external_id"):
        errors.extend(_id(view.get(key), f"/view/{key}"))
    metadata = view.get("private_metadata")
    if metadata is not None and len(str(metadata)) > _LIMITS["private_metadata"]:
        errors.append(_error("/view/private_metadata", "must be less than 3001 characters"))
    if view["type"] == "modal":
        errors.extend(
            _text(view.get("title"), "/view/title", _LIMITS["view_title"], plain_only=True)
        )
        for key in ("submit", "close"):
            if key in view:
                errors.extend(
                    _text(view[key], f"/view/{key}", _LIMITS["view_title"], plain_only=True)
                )
        has_input = any(
            isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
        )
        if has_input and "submit" not in view:
            errors.append(_error("/view/submit", "is required when the view has input blocks"))
    return errors

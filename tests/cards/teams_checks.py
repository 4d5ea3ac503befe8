"""Checking rendered Teams cards: the official Adaptive Cards 1.5 schema (tests/vendor,
which must be present: without it the tests fail), with readable errors, and small readers for
what a card shows."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator
from jsonschema.exceptions import ValidationError as SchemaError

from cards import teams

VENDOR = Path(__file__).resolve().parents[1] / "vendor"
SCHEMA_PATH = VENDOR / "adaptive-card-1.5.0.schema.json"
INVOKE_FIXTURE = (
    VENDOR / "teams" / "teams-invoke-adaptiveCard-action.teams.net-TeamsActivityTests.json"
)

# --- the official schema, and readable errors from it --------------------------------------------


@functools.cache
def validator() -> Draft6Validator:
    """The official schema; a missing file is an error here (the test fails, never skips)."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


def _where(error: SchemaError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "card"


def _type_mismatch(error: SchemaError) -> bool:
    """An error saying the instance is another kind of thing than the branch describes."""
    path = list(error.relative_path)
    return (error.validator == "enum" and path == ["type"]) or (
        error.validator == "type" and path == []
    )


def _narrow(error: SchemaError, label: str) -> list[str]:
    """An `anyOf` failure narrowed to the branch(es) for the element's own `type`.

    The schema tries every element kind for each entry of `body` or `actions`, so a bad
    TextBlock fails as "not valid under any of the given schemas" with the complaints of all
    sixteen kinds underneath; only the complaints of the TextBlock branch say what is wrong.
    """
    if error.validator != "anyOf" or not error.context:
        return [f"{label}: {error.message}"]
    instance = error.instance
    kind = instance.get("type") if isinstance(instance, Mapping) else None
    where = f"{_where(error)} ({kind})" if kind else _where(error)
    branches: dict[int, list[SchemaError]] = {}
    for sub in error.context:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    matching = [subs for subs in branches.values() if not any(map(_type_mismatch, subs))]
    if not matching:
        if kind is not None:
            return [f"{_where(error)}: unknown element type {kind!r}"]
        return [f"{where}: {error.message}"]
    return [message for subs in matching for sub in subs for message in _narrow(sub, where)]


def schema_errors(card: Mapping[str, Any]) -> list[str]:
    """Readable messages for everything the official schema refuses in `card`."""
    return sorted(
        message for error in validator().iter_errors(card) for message in _narrow(error, "card")
    )


def assert_valid(card: Mapping[str, Any]) -> None:
    """Valid against the official schema, a 1.5 card, and under the Teams size limit."""
    assert schema_errors(card) == []
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.5"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert len(json.dumps(card).encode()) <= teams.MAX_CARD_BYTES - teams.ACTIVITY_RESERVE


def elements(card: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every element of the body, depth first."""
    stack = list(reversed(card["body"]))
    while stack:
        element = stack.pop()
        yield element
        stack += reversed(element.get("items", []))


def paragraphs(card: Mapping[str, Any]) -> list[str]:
    """Each TextBlock, RichTextBlock (runs joined) and fact ("title: value") as one string."""
    out: list[str] = []
    for element in elements(card):
        if element["type"] == "TextBlock":
            out.append(element["text"])
        elif element["type"] == "RichTextBlock":
            out.append("".join(i if isinstance(i, str) else i["text"] for i in element["inlines"]))
        elif element["type"] == "FactSet":
            out += [f"{f['title']}: {f['value']}" for f in element["facts"]]
    return out


def links(card: Mapping[str, Any]) -> dict[str, str]:
    """Link text -> url, for every run that opens a url."""
    return {
        run["text"]: run["selectAction"]["url"]
        for element in elements(card)
        if element["type"] == "RichTextBlock"
        for run in element["inlines"]
        if isinstance(run, dict) and "selectAction" in run
    }


def inputs(card: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in elements(card) if e["type"].startswith("Input.")}


def find(card: Mapping[str, Any], text: str) -> dict[str, Any]:
    [element] = [e for e in elements(card) if e.get("text") == text]
    return element


def invoke(action: Mapping[str, Any], typed: Mapping[str, Any]) -> dict[str, Any]:
    """The captured Teams invoke, carrying `action` pressed with `typed` inputs merged into
    its data, as Teams sends them."""
    activity: dict[str, Any] = json.loads(INVOKE_FIXTURE.read_text(encoding="utf-8"))
    activity["value"]["action"] = {
        "type": "Action.Execute",
        "title": action["title"],
        "verb": action["verb"],
        "data": {**action["data"], **typed},
    }
    return activity

"""Turning pydantic's validation errors into the (field, message) pairs users see."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from handlers.errors import InvalidRequest
from policy.request import ExceptionRequest


def problems_of(
    error: ValidationError, noun: str = "an exception request"
) -> list[tuple[str, str]]:
    problems = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "body"
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"is not a field of {noun}"
        elif item["type"] == "missing":
            message = "is required"
        problems.append((field, message))
    return problems


def parse_request(data: Any) -> ExceptionRequest:
    """An ExceptionRequest from untrusted data, or InvalidRequest naming every bad field."""
    if not isinstance(data, dict):
        raise InvalidRequest([("body", "must be a JSON object")])
    try:
        return ExceptionRequest.model_validate(data)
    except ValidationError as error:
        raise InvalidRequest(problems_of(error)) from None

"""What every route of the intake API shares: its app keys, the bearer-token check that runs
before anything is parsed, reading a JSON body within limits, and naming a case."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.http_errors import error_response
from bot.safe_json import UnsafeJSON, parse_json
from bot.validation import problems_of
from handlers.context import Services
from handlers.errors import InvalidRequest, NotFound
from storage.records import parse_case_ref


@dataclass(frozen=True, slots=True)
class ChangeListener:
    """Told when a request wrote to the outbox, so delivery starts at once."""

    notify: Callable[[], None]


SERVICES_KEY = web.AppKey("services", Services)
API_TOKEN_KEY = web.AppKey("api_token", str)
CHANGES_KEY = web.AppKey("changes", ChangeListener)

MAX_BODY_BYTES = 256 * 1024
Body = TypeVar("Body", bound=BaseModel)


def authorized(request: web.Request) -> web.Response | None:
    """None if the bearer token matches; otherwise the response to send."""
    expected = request.app.get(API_TOKEN_KEY)
    if not expected:
        return error_response(503, "The intake API is disabled: set APPROVALS_API_TOKEN.")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        response = error_response(401, "Missing or wrong bearer token.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="approvals"'
        return response
    return None


async def json_body(request: web.Request) -> object:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise InvalidRequest([("body", f"is larger than {MAX_BODY_BYTES} bytes")])
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidRequest([("body", f"is larger than {MAX_BODY_BYTES} bytes")])
    try:
        return parse_json(raw)
    except UnsafeJSON as error:
        raise InvalidRequest([("body", str(error))]) from None


def validated(model: type[Body], data: object, noun: str) -> Body:
    """`data` as `model`, or InvalidRequest naming every bad field."""
    if not isinstance(data, dict):
        raise InvalidRequest([("body", "must be a JSON object")])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidRequest(problems_of(error, noun)) from None


async def body_of(request: web.Request, model: type[Body], noun: str) -> Body:
    """The request's JSON body as `model`, or InvalidRequest naming every bad field."""
    return validated(model, await json_body(request), noun)


def case_id_of(request: web.Request) -> int:
    """The case the path names (EXC-000123), or NotFound."""
    raw_id = request.match_info["case_id"]
    case_id = parse_case_ref(raw_id)
    if case_id is None:
        raise NotFound(f"There is no exception {raw_id!r}.")
    return case_id


def changed(request: web.Request) -> None:
    """The request wrote to the outbox: start delivering now."""
    if (listener := request.app.get(CHANGES_KEY)) is not None:
        listener.notify()

"""The intake API: ERP and supplier feeds file exceptions over HTTP.

POST /api/v1/exceptions      201 with the new case, 200 with the earlier one for a repeat
GET  /api/v1/exceptions/{id} the case with its steps and history
Both need `Authorization: Bearer $APPROVALS_API_TOKEN`.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from bot.case_json import case_json
from bot.http_errors import METRICS_KEY, error_response
from bot.safe_json import UnsafeJSON, parse_json
from bot.validation import parse_request
from handlers.commands import FileException
from handlers.context import Actor, Services
from handlers.errors import InvalidRequest, NotFound
from handlers.filing import file_exception
from handlers.queries import case_details
from storage.records import parse_case_ref


@dataclass(frozen=True, slots=True)
class ChangeListener:
    """Told when a request wrote to the outbox, so delivery starts at once."""

    notify: Callable[[], None]


SERVICES_KEY = web.AppKey("services", Services)
API_TOKEN_KEY = web.AppKey("api_token", str)
CHANGES_KEY = web.AppKey("changes", ChangeListener)

MAX_BODY_BYTES = 256 * 1024
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, as the header draft says


def _authorized(request: web.Request) -> web.Response | None:
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


async def _json_body(request: web.Request) -> object:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise InvalidRequest([("body", f"is larger than {MAX_BODY_BYTES} bytes")])
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidRequest([("body", f"is larger than {MAX_BODY_BYTES} bytes")])
    try:
        return parse_json(raw)
    except UnsafeJSON as error:
        raise InvalidRequest([("body", str(error))]) from None


async def post_exception(request: web.Request) -> web.Response:
    if (refusal := _authorized(request)) is not None:
        return refusal
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise InvalidRequest([("Idempotency-Key", "must be 1 to 200 visible ASCII characters")])
    exception_request = parse_request(await _json_body(request))
    svc = request.app[SERVICES_KEY]
    actor = Actor.system(f"intake:{exception_request.source or 'api'}", "api")
    result = await file_exception(svc, actor, FileException(exception_request, key))
    if result.created:
        request.app[METRICS_KEY].cases_filed.labels(result.case.outcome).inc()
        if (listener := request.app.get(CHANGES_KEY)) is not None:
            listener.notify()
    details = await case_details(svc, result.case.id)
    response = web.json_response(case_json(details), status=201 if result.created else 200)
    response.headers["Location"] = f"/api/v1/exceptions/{result.case.ref}"
    return response


async def get_exception(request: web.Request) -> web.Response:
    if (refusal := _authorized(request)) is not None:
        return refusal
    raw_id = request.match_info["case_id"]
    case_id = parse_case_ref(raw_id)
    if case_id is None:
        raise NotFound(f"There is no exception {raw_id!r}.")
    details = await case_details(request.app[SERVICES_KEY], case_id)
    return web.json_response(case_json(details))


def add_intake_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/exceptions", post_exception)
    app.router.add_get("/api/v1/exceptions/{case_id}", get_exception)

"""The intake API: ERP and supplier feeds file exceptions over HTTP, follow, withdraw and
comment on them. Every route needs `Authorization: Bearer $APPROVALS_API_TOKEN`.

`ROUTES` is the registry: each entry is served (`add_intake_routes`) and described in the
OpenAPI document (`GET /api/v1/openapi.json`, `bot.openapi`). A new route is one entry.
"""

from __future__ import annotations

import re
from importlib.metadata import version

from aiohttp import web

from bot.api_models import CaseList, CommentBody, ListQuery, WithdrawBody
from bot.http_errors import METRICS_KEY
from bot.intake_actions import comment_on_exception, withdraw_exception
from bot.intake_amend import patch_exception
from bot.intake_http import API_TOKEN_KEY as API_TOKEN_KEY
from bot.intake_http import CHANGES_KEY as CHANGES_KEY
from bot.intake_http import SERVICES_KEY as SERVICES_KEY
from bot.intake_http import ChangeListener as ChangeListener
from bot.intake_http import authorized, case_id_of, changed, json_body
from bot.intake_list import list_exceptions
from bot.openapi import Header, Route, build_document
from bot.validation import parse_request
from handlers.case_document import CaseOut, case_json
from handlers.commands import FileException
from handlers.errors import InvalidRequest
from handlers.filing import file_exception
from handlers.queries import case_details
from policy.actor import intake
from policy.request import ExceptionRequest

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, as the header draft says
REPLAYED = "Idempotent-Replayed"


async def post_exception(request: web.Request) -> web.Response:
    if (refusal := authorized(request)) is not None:
        return refusal
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise InvalidRequest([("Idempotency-Key", "must be 1 to 200 visible ASCII characters")])
    exception_request = parse_request(await json_body(request))
    svc = request.app[SERVICES_KEY]
    actor = intake(exception_request.source or "api")
    result = await file_exception(svc, actor, FileException(exception_request, key))
    if result.created:
        request.app[METRICS_KEY].cases_filed.labels(result.case.outcome).inc()
    if result.created or result.amended:
        changed(request)
    details = await case_details(svc, result.case.id)
    response = web.json_response(case_json(details), status=201 if result.created else 200)
    response.headers["Location"] = f"/api/v1/exceptions/{result.case.ref}"
    if not result.created and not result.amended:
        response.headers[REPLAYED] = "true"
    return response


async def get_exception(request: web.Request) -> web.Response:
    if (refusal := authorized(request)) is not None:
        return refusal
    details = await case_details(request.app[SERVICES_KEY], case_id_of(request))
    return web.json_response(case_json(details))


async def get_openapi(request: web.Request) -> web.Response:
    # Behind the token: the `requester` enum lists the policy's people and their emails.
    if (refusal := authorized(request)) is not None:
        return refusal
    policy = request.app[SERVICES_KEY].policy
    return web.json_response(build_document(ROUTES, policy, version("procurement-approvals")))


_EXCEPTIONS = "/api/v1/exceptions"
_ONE = "/api/v1/exceptions/{case_id}"
_LOCATION = Header("Location", "Where the case is: /api/v1/exceptions/EXC-000123")
ROUTES: tuple[Route, ...] = (
    Route(
        "post",
        _EXCEPTIONS,
        post_exception,
        "fileException",
        "File an exception",
        {201: CaseOut, 200: CaseOut},
        errors=(409, 413, 422),
        body=ExceptionRequest,
        headers=(
            Header(
                "Idempotency-Key",
                "The same key again returns the first case (200) instead of filing twice.",
                {"type": "string", "pattern": _IDEMPOTENCY_KEY.pattern},
            ),
        ),
        response_headers=(
            _LOCATION,
            Header(
                REPLAYED,
                "`true` on a 200: a repeat (same key, or same source and "
                "external_id) answered with the case it filed first.",
            ),
        ),
        description="201 with the new case; 200 with the earlier case for a repeat "
        "(`Idempotent-Replayed: true`), or with the case amended by a newer `revision` of the "
        "same source and external_id. The same source and external_id with other content "
        "and no newer revision is a 409 naming the case.",
    ),
    Route(
        "get",
        _EXCEPTIONS,
        list_exceptions,
        "listExceptions",
        "List exceptions, newest first",
        {200: CaseList},
        errors=(400, 422),
        query=ListQuery,
        description="Keyset-paginated: pass `next_cursor` as `cursor` until it is null. "
        "Cases filed while paging never shift a page: none is skipped or repeated.",
    ),
    Route("get", _ONE, get_exception, "getException", "One exception", {200: CaseOut}),
    Route(
        "patch",
        _ONE,
        patch_exception,
        "amendException",
        "Amend an exception: a JSON merge patch of its request",
        {200: CaseOut},
        errors=(409, 413, 415, 422),
        body=ExceptionRequest,
        merge_patch=True,
        description="The request is re-evaluated. A material change (the route or outcome "
        "changes, the amount rises beyond the policy's tolerance, or the code, supplier, "
        "requester, currency, cost center or category changes) voids the approvals given "
        "and starts the route again, reopening a decided case; anything else is recorded "
        "and the approvals stand. A withdrawn, expired or revoked case cannot be amended "
        "(409).",
    ),
    Route(
        "post",
        f"{_ONE}/withdraw",
        withdraw_exception,
        "withdrawException",
        "Withdraw an exception its source filed (the PO was cancelled)",
        {200: CaseOut},
        errors=(403, 409, 413, 422),
        body=WithdrawBody,
    ),
    Route(
        "post",
        f"{_ONE}/comments",
        comment_on_exception,
        "commentOnException",
        "Add a note from the source system",
        {201: CaseOut},
        errors=(403, 413, 422),
        body=CommentBody,
    ),
    Route(
        "get",
        "/api/v1/openapi.json",
        get_openapi,
        "getOpenApi",
        "This document",
        {200: None},
        description="Needs the token: the `requester` enum lists the policy's people.",
    ),
)


def add_intake_routes(app: web.Application) -> None:
    for route in ROUTES:
        app.router.add_route(route.method.upper(), route.path, route.handler)

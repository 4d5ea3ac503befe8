"""`PATCH /api/v1/exceptions/{id}`: the source amends a case with a JSON merge patch
(RFC 7396) of the request fields. The patch is applied to the stored request and the result
validated as a filing is; `handlers.amending` decides whether the approvals given stand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.http_errors import error_response
from bot.intake_http import SERVICES_KEY, authorized, case_id_of, changed, json_body, validated
from bot.openapi import MERGE_PATCH
from handlers.amending import amend_exception
from handlers.case_document import case_json
from handlers.errors import InvalidRequest
from handlers.queries import case_details
from policy.actor import intake
from policy.merge_patch import merge_patch
from policy.request import ExceptionRequest

_ACCEPTED = (MERGE_PATCH, "application/json")


async def patch_exception(request: web.Request) -> web.Response:
    if (refusal := authorized(request)) is not None:
        return refusal
    case_id = case_id_of(request)
    if request.content_type not in _ACCEPTED:
        return error_response(
            415, f"Send the changes as {MERGE_PATCH} (a JSON merge patch of the request)."
        )
    patch = await json_body(request)
    if not isinstance(patch, dict) or not patch:
        raise InvalidRequest([("body", "must be a JSON object naming the fields to change")])
    svc = request.app[SERVICES_KEY]
    details = await case_details(svc, case_id)
    source = details.case.source or "api"

    def revise(stored: Mapping[str, Any]) -> ExceptionRequest:
        return validated(ExceptionRequest, merge_patch(stored, patch), "an exception request")

    result = await amend_exception(svc, intake(source), case_id, revise)
    if result.amended:
        changed(request)
    return web.json_response(case_json(await case_details(svc, case_id)))

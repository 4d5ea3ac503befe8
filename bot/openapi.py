"""The OpenAPI 3.1 document of the intake API, built from its route registry.

Each `Route` names its method, path, request and response models and the errors it may
answer; `bot.intake` registers the same entries with aiohttp, so a route added there is served
and described at once. Schemas come from the pydantic models that validate requests and build
answers (`policy.request`, `bot.api_models`, `handlers.case_document`); the active policy
adds its codes and people as enums of `code` and `requester`, and `webhooks` describes what
a subscriber is sent.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from bot.api_models import ErrorOut
from handlers.case_document import WebhookEvent
from policy.model import Policy
from policy.request import ExceptionRequest
from policy.webhook_events import WEBHOOK_TYPES

REF = "#/components/schemas/{model}"
MERGE_PATCH = "application/merge-patch+json"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_PATH_PARAM = re.compile(r"\{(\w+)\}")

# What each error means, for every route that may answer it.
ERRORS = {
    400: "The query cannot be used (a cursor this API did not hand out).",
    401: "Missing or wrong bearer token.",
    403: "Not allowed: this source did not file the case. The refusal is audited.",
    404: "There is no such exception.",
    409: "The case cannot change that way now (it is final, changing quickly, or the source "
    "sent other content for the same external_id without a newer revision).",
    413: "The body is too large.",
    415: "The body is not JSON (application/merge-patch+json or application/json).",
    422: "The input has problems; `errors` names each field.",
    503: "The API is disabled (no APPROVALS_API_TOKEN) or the database is busy or unreachable; "
    "see Retry-After.",
}
ALWAYS = (401, 503)  # the token is checked first on every route, and the database may be busy


@dataclass(frozen=True, slots=True)
class Header:
    name: str
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True, slots=True)
class Route:
    """One operation of the API: served by `handler`, described by the rest."""

    method: Literal["get", "post", "patch", "put", "delete"]
    path: str  # as aiohttp routes it: /api/v1/exceptions/{case_id}
    handler: Handler
    operation_id: str
    summary: str
    # Success statuses and their body's model; None: any JSON object.
    responses: Mapping[int, type[BaseModel] | None]
    errors: tuple[int, ...] = ()
    body: type[BaseModel] | None = None
    # The body is a JSON merge patch (RFC 7396) of `body`: any of its fields, null removes one.
    merge_patch: bool = False
    query: type[BaseModel] | None = None
    headers: tuple[Header, ...] = ()  # request headers it reads
    response_headers: tuple[Header, ...] = ()  # on its success responses
    description: str = ""


def _models(routes: Sequence[Route]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {
        (ErrorOut, "serialization"): None,
        (WebhookEvent, "serialization"): None,
    }
    for route in routes:
        for model in (route.body, route.query):
            if model is not None:
                wanted[(model, "validation")] = None
        for out in route.responses.values():
            if out is not None:
                wanted[(out, "serialization")] = None
    return list(wanted)


def _parameter(name: str, where: str, schema: Mapping[str, Any], required: bool) -> Any:
    """A parameter; a query value is never JSON null, so `X | None` is described as X."""
    options = [s for s in schema.get("anyOf", ()) if s.get("type") != "null"]
    if len(options) == 1:
        rest = {k: v for k, v in schema.items() if k != "anyOf" and k != "default"}
        schema = {**options[0], **rest}
    described = {"name": name, "in": where, "required": required, "schema": dict(schema)}
    if "description" in schema:
        described["description"] = schema["description"]
    return described


def _operation(route: Route, refs: Mapping[Any, Mapping[str, Any]]) -> dict[str, Any]:
    parameters = [
        _parameter(name, "path", {"type": "string", "minLength": 1}, True)
        for name in _PATH_PARAM.findall(route.path)
    ]
    if route.query is not None:
        schema = route.query.model_json_schema(ref_template=REF, mode="validation")
        required = set(schema.get("required", ()))
        parameters += [
            _parameter(name, "query", prop, name in required)
            for name, prop in schema["properties"].items()
        ]
    parameters += [
        {**_parameter(h.name, "header", h.schema, False), "description": h.description}
        for h in route.headers
    ]
    success_headers = {
        h.name: {"description": h.description, "schema": dict(h.schema)}
        for h in route.response_headers
    }
    responses: dict[str, Any] = {}
    for status, model in route.responses.items():
        answer = refs[(model, "serialization")] if model is not None else {"type": "object"}
        responses[str(status)] = {
            "description": "Created" if status == 201 else "OK",
            "content": {"application/json": {"schema": dict(answer)}},
            **({"headers": success_headers} if success_headers else {}),
        }
    error_schema = {"application/json": {"schema": dict(refs[(ErrorOut, "serialization")])}}
    for status in sorted({*ALWAYS, *route.errors, 404}):  # an unknown path is a JSON 404 too
        responses[str(status)] = {"description": ERRORS[status], "content": error_schema}
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "parameters": parameters,
        "responses": responses,
    }
    if route.description:
        operation["description"] = route.description
    if route.body is not None and route.merge_patch:
        name = str(refs[(route.body, "validation")]["$ref"]).rsplit("/", 1)[-1]
        patch = {"$ref": REF.format(model=f"{name}Patch")}
        operation["requestBody"] = {
            "required": True,
            "content": {MERGE_PATCH: {"schema": patch}, "application/json": {"schema": patch}},
        }
    elif route.body is not None:
        body_schema = dict(refs[(route.body, "validation")])
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body_schema}},
        }
    return operation


def _patch_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A merge patch of an object `schema`: every field optional, and null to remove it."""
    return {
        "type": "object",
        "title": f"{schema.get('title', 'Object')} patch",
        "description": "A JSON merge patch (RFC 7396): the fields to change, null removes one. "
        "The patched request must be a valid request.",
        "properties": {
            name: {"anyOf": [dict(prop), {"type": "null"}]}
            for name, prop in schema.get("properties", {}).items()
        },
        "additionalProperties": False,
        "minProperties": 1,
    }


def _add_policy_enums(schemas: dict[str, Any], name: str, policy: Policy) -> None:
    """The active policy's codes and people (ids and emails) as what `code` and `requester`
    may be."""
    properties = schemas[name]["properties"]
    properties["code"]["enum"] = sorted(policy.taxonomy)
    people = {p.id for p in policy.people.values()} | {
        p.email for p in policy.people.values() if p.email
    }
    properties["requester"]["enum"] = sorted(people)


def _webhooks(event_ref: Mapping[str, Any]) -> dict[str, Any]:
    return {
        kind: {
            "post": {
                "operationId": f"webhook_{kind.replace('.', '_')}",
                "summary": f"{kind}: sent to subscribers when a case is {kind.split('.')[1]}",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "allOf": [
                                    dict(event_ref),
                                    {"properties": {"type": {"const": kind}}},
                                ]
                            }
                        }
                    },
                },
                "responses": {"2XX": {"description": "Received."}},
            }
        }
        for kind in WEBHOOK_TYPES
    }


def build_document(routes: Sequence[Route], policy: Policy, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `routes`, with the enums of `policy`."""
    keys, defs = models_json_schema(_models(routes), ref_template=REF)
    schemas: dict[str, Any] = defs.get("$defs", {})
    if (ExceptionRequest, "validation") in keys:
        name = str(keys[(ExceptionRequest, "validation")]["$ref"]).rsplit("/", 1)[-1]
        _add_policy_enums(schemas, name, policy)
    for route in routes:
        if route.body is not None and route.merge_patch:
            name = str(keys[(route.body, "validation")]["$ref"]).rsplit("/", 1)[-1]
            schemas[f"{name}Patch"] = _patch_schema(schemas[name])
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method] = _operation(route, keys)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Procurement exception approvals: intake API",
            "version": version,
            "description": "ERP and supplier feeds file exceptions, follow them, withdraw "
            f"them and comment on them. Policy in force: {policy.name} ({policy.version}).",
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "webhooks": _webhooks(keys[(WebhookEvent, "serialization")]),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "APPROVALS_API_TOKEN",
                }
            },
        },
    }

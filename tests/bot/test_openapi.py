"""The OpenAPI document: valid OpenAPI 3.1, every served route in it, built from the models
that validate requests and build answers, with the active policy's enums."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientSession
from openapi_spec_validator import validate

from bot.intake import ROUTES
from handlers.case_document import CaseOut
from handlers.context import Services
from tests.bot.conftest import auth
from tests.bot.test_intake_api import EVENT


async def _document(http: ClientSession) -> dict[str, Any]:
    async with http.get("/api/v1/openapi.json", headers=auth()) as response:
        assert response.status == 200
        document: dict[str, Any] = await response.json()
    return document


async def test_the_document_is_valid_openapi_3_1(http: ClientSession) -> None:
    document = await _document(http)
    assert document["openapi"] == "3.1.0"
    validate(document)


async def test_it_needs_the_token(http: ClientSession) -> None:
    async with http.get("/api/v1/openapi.json") as response:
        assert response.status == 401


async def test_every_route_of_the_registry_is_served_and_described(
    http: ClientSession, services: Services
) -> None:
    document = await _document(http)
    described = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert described == {(r.method, r.path) for r in ROUTES}
    amend = document["paths"]["/api/v1/exceptions/{case_id}"]["patch"]
    content = amend["requestBody"]["content"]
    assert set(content) == {"application/merge-patch+json", "application/json"}
    patch = document["components"]["schemas"]["ExceptionRequestPatch"]
    assert patch["properties"]["amount"]["anyOf"][-1] == {"type": "null"}
    assert "required" not in patch
    for operations in document["paths"].values():
        for operation in operations.values():
            assert {"401", "503"} <= set(operation["responses"])


async def test_codes_and_people_of_the_policy_are_enums(
    http: ClientSession, services: Services
) -> None:
    schemas = (await _document(http))["components"]["schemas"]
    properties = schemas["ExceptionRequest"]["properties"]
    assert properties["code"]["enum"] == sorted(services.policy.taxonomy)
    people = properties["requester"]["enum"]
    assert "rita" in people
    assert "rita@acme.example" in people
    assert properties["attachments"]["maxItems"] == 20


async def test_the_case_schema_is_the_model_and_answers_match_it(http: ClientSession) -> None:
    document = await _document(http)
    assert document["components"]["schemas"]["CaseOut"]["additionalProperties"] is False
    async with http.post("/api/v1/exceptions", json=EVENT, headers=auth()) as response:
        body = await response.json()
    assert CaseOut.model_validate(body).model_dump(mode="json") == body


async def test_the_webhooks_are_described(http: ClientSession) -> None:
    webhooks = (await _document(http))["webhooks"]
    assert set(webhooks) == {
        "exception.filed",
        "exception.approved",
        "exception.rejected",
        "exception.expired",
        "exception.withdrawn",
        "exception.revoked",
        "exception.amended",
        "exception.reopened",
        "exception.info_requested",
    }
    schema = webhooks["exception.withdrawn"]["post"]["requestBody"]["content"]
    assert schema["application/json"]["schema"]["allOf"][0] == {
        "$ref": "#/components/schemas/WebhookEvent"
    }

"""Schemathesis against `approvals serve` on a random port (SQLite): generated requests,
valid and not, for every operation of the OpenAPI document. None may answer 5xx, and every
answer must match the document (status, content type, headers, body schema).

Bounded and repeatable: at most 30 examples per operation and mode, a fixed seed (derandomized,
no example database), no deadline (the machine is shared)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.intake import ROUTES
from tests.bot.serve_process import running_serve
from tests.conftest import TEST_POLICY

TOKEN = "schemathesis-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 30


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    env = {
        "APPROVALS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'serve.db'}",
        "APPROVALS_POLICY_FILE": str(TEST_POLICY),
        "APPROVALS_API_TOKEN": TOKEN,
        "APPROVALS_LOG_LEVEL": "WARNING",
    }
    with (tmp / "serve.log").open("w") as log, running_serve(env, output=log) as (base, process):
        yield base
        process.terminate()
        process.wait(timeout=20)
    tracebacks = (tmp / "serve.log").read_text()
    assert "Traceback" not in tracebacks, tracebacks


@pytest.fixture(scope="module")
def api(base_url: str) -> Any:
    document = requests.get(f"{base_url}/api/v1/openapi.json", headers=HEADERS, timeout=10)
    document.raise_for_status()
    return schemathesis.openapi.from_dict(document.json())


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation_id", [route.operation_id for route in ROUTES])
def test_no_5xx_and_every_answer_matches_the_document(
    api: Any, base_url: str, operation_id: str, mode: GenerationMode
) -> None:
    operation = api.find_operation_by_id(operation_id)
    session = requests.Session()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), unauthorized=st.booleans())
    def check(case: Case[Any], unauthorized: bool) -> None:
        headers = {} if unauthorized and mode is GenerationMode.NEGATIVE else HEADERS
        case.call_and_validate(base_url=base_url, session=session, headers=headers, checks=CHECKS)

    try:
        check()
    finally:
        session.close()

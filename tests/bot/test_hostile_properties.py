"""Generated hostile input against the entry points that are ours alone: the intake API, the
chat commands every platform shares, and the policy loader. Whatever arrives: no 5xx, no
traceback in the log, nothing stored for a refused request, the audit chain intact after.
(Slack and Teams payloads: tests/slack and tests/teams `test_hostile_properties.py`.)

Bounded (examples per test, no deadline) to keep the whole file well under a minute.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest
from aiohttp import ClientSession
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chat_commands import (
    UsageError,
    parse_approvals_command,
    parse_exception_command,
    policy_resolver,
)
from bot.conversation import run_command
from bot.policy_chat import parse_policy_command
from handlers.context import Actor, Services
from policy.loader import parse_policy
from policy.problems import PolicyError
from storage import audit
from tests.bot.conftest import auth
from tests.bot.test_intake_api import EVENT
from tests.conftest import TEST_POLICY
from tests.handlers.conftest import counts
from tests.hostile import BOUNDED, SQLITE_ONLY

hostile_text = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Z", "C")), max_size=80
)
hostile_scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | hostile_text
)
json_like = st.recursive(
    hostile_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=20,
)
# The first words of /policy commands, so the generated rest reaches their handlers.
POLICY_WORDS = [
    "show tier",
    "set tier category-lead sla",
    "set tier category-lead approvers",
    "set rule high-value when",
    "set person lee roles",
    "group ap-leads add",
    "propose",
    "approve",
    "reject POL-1",
    "rollback",
    "backtest",
]
FIELDS = [*EVENT.keys(), "supplier.name", "supplier.risk_score", "budget.remaining", "details.x"]


@st.composite
def tampered_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with a few fields replaced by anything at all."""
    event = copy.deepcopy(EVENT)
    for path in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3)):
        target = event
        *parents, leaf = path.split(".")
        for parent in parents:
            if not isinstance(target.get(parent), dict):
                target[parent] = {}
            target = target[parent]
        target[leaf] = draw(json_like)
    return event


bodies = (
    st.binary(max_size=300)
    | json_like.map(lambda v: json.dumps(v, allow_nan=True).encode())
    | tampered_events().map(lambda v: json.dumps(v, allow_nan=True).encode())
    | st.integers(1, 3000).map(lambda n: (b"[" * n) + (b"]" * n))
)


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info]


@SQLITE_ONLY
@BOUNDED
@given(body=bodies)
async def test_intake_never_answers_5xx_and_stores_nothing_it_refuses(
    http: ClientSession, services: Services, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    caplog.set_level(logging.INFO)
    before = await counts(services.db)
    headers = {**auth(), "Content-Type": "application/json"}
    async with http.post("/api/v1/exceptions", data=body, headers=headers) as response:
        status = response.status
        await response.read()
    assert status < 500, body[:200]
    if status >= 400:
        assert await counts(services.db) == before
    assert not _tracebacks(caplog)
    async with services.db.reading() as conn:
        assert (await audit.verify(conn)).ok


@SQLITE_ONLY
@BOUNDED
@given(
    text=hostile_text
    | st.sampled_from(POLICY_WORDS).flatmap(lambda w: hostile_text.map(lambda t: f"{w} {t}")),
    kind=st.sampled_from(["exception", "approvals", "policy"]),
    who=st.sampled_from(["rita", "lee", "ada", "aud"]),
)
async def test_chat_commands_answer_everything_without_a_crash(
    services: Services, caplog: pytest.LogCaptureFixture, text: str, kind: str, who: str
) -> None:
    caplog.set_level(logging.INFO)
    resolve = policy_resolver(services.policy)
    try:
        if kind == "approvals":
            command = parse_approvals_command(text, resolve)
        elif kind == "policy":
            command = parse_policy_command(text, resolve)
        else:
            command = parse_exception_command(text)
    except UsageError as error:
        usage = str(error)
    else:
        usage = ""
    if usage:
        return  # refused with a message saying how to write it
    reply = await run_command(services, Actor(who, "console"), command)
    assert reply.text
    assert not _tracebacks(caplog)
    async with services.db.reading() as conn:
        assert (await audit.verify(conn)).ok


POLICY_TEXT = TEST_POLICY.read_text(encoding="utf-8")


@st.composite
def mangled_policies(draw: st.DrawFn) -> str:
    """The test policy with a slice of it replaced by something else."""
    start = draw(st.integers(0, len(POLICY_TEXT) - 1))
    end = draw(st.integers(start, min(len(POLICY_TEXT), start + 40)))
    return POLICY_TEXT[:start] + draw(hostile_text) + POLICY_TEXT[end:]


@settings(max_examples=150, deadline=None)
@given(text=mangled_policies() | hostile_text)
def test_the_policy_loader_refuses_with_problems_or_loads(text: str) -> None:
    try:
        policy = parse_policy(text, "mangled.yaml")
    except PolicyError as error:
        problems = [problem.message for problem in error.problems]
    else:
        assert policy.version
        return
    assert problems
    assert all(problems)

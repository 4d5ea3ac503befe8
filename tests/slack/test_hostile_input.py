"""Hostile input on /slack/events, through the real server: requests that are not signed, or
signed but malformed, are refused or acknowledged and dropped. None stores anything, none logs a
traceback, and each signed one that is dropped logs one warning."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from cards import actions
from tests.handlers.conftest import counts
from tests.slack.harness import SECRET, Answer, SlackHarness, buttons_of
from tests.slack.signing import (
    FORM,
    JSON,
    block_actions_payload,
    signature,
    signed_bytes_headers,
    slash_command_body,
    text_state,
    view_submission_payload,
)
from tests.slack.test_flows import slack

__all__ = ["slack"]  # the fixture, shared with the flow tests

QUICK_SECONDS = 1.5  # a refusal is quick, even on a loaded test machine
NOT_JSON = urlencode({"payload": "{not json"}).encode()  # would be a 400 if it were parsed
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@dataclass(frozen=True)
class Sent:
    name: str
    body: bytes
    content_type: str = FORM
    headers: dict[str, str] | None = None  # None: signed with SECRET, now


def form(payload: Any) -> bytes:
    """An interaction form whose `payload` is `payload` as JSON (whatever its shape)."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def press(**bent: Any) -> dict[str, Any]:
    """A press of Approve by dana on case 1, step 1; `bent` replaces top-level fields."""
    payload = block_actions_payload(
        user_id="U0DANA",
        action_id=actions.APPROVE,
        value="case:1:step:1",
        channel_id="DU0DANA",
        message_ts="1700000001.000001",
    )
    return {**payload, **bent}


def pressed(value: str, action_id: str = actions.APPROVE) -> list[dict[str, Any]]:
    """`actions` of a press of `action_id` with the button value `value`."""
    action: dict[str, Any] = press()["actions"][0]
    return [{**action, "value": value, "action_id": action_id}]


def submission(callback_id: str, metadata: str = "", **bent: Any) -> dict[str, Any]:
    payload = view_submission_payload(
        user_id="U0LEE",
        callback_id=callback_id,
        private_metadata=metadata,
        values={"rationale": {"rationale_input": text_state("Because")}},
    )
    return {**payload, **bent}


async def send(slack: SlackHarness, sent: Sent) -> Answer:
    headers = sent.headers
    if headers is None:
        headers = signed_bytes_headers(
            SECRET, sent.body, int(time.time()), content_type=sent.content_type
        )
    return await slack.post_bytes(sent.body, headers)


async def filed_case(slack: SlackHarness) -> None:
    """EXC-000001, waiting for lee and dana (500 EUR: Approve needs no reason)."""
    await slack.file(amount=500.0)
    await slack.settle()


async def check_each(
    slack: SlackHarness,
    caplog: pytest.LogCaptureFixture,
    requests: list[Sent],
    status: int,
    warnings: int | None = 1,
    quick: bool = False,
) -> None:
    """Send each request; collect every way one is not answered as it should be."""
    before = await counts(slack.services.db)
    calls = len(slack.fake.calls())
    problems: list[str] = []
    for sent in requests:
        caplog.clear()
        answer = await send(slack, sent)
        await slack.settle()
        tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
        warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        if answer.status != status:
            problems.append(f"{sent.name}: HTTP {answer.status} {answer.body[:80]!r}")
        if tracebacks:
            problems.append(f"{sent.name}: logged a traceback: {tracebacks}")
        if warnings is not None and len(warned) != warnings:
            problems.append(f"{sent.name}: {len(warned)} warnings instead of {warnings}: {warned}")
        if quick and answer.seconds > QUICK_SECONDS:
            problems.append(f"{sent.name}: took {answer.seconds:.2f}s")
        if (now := await counts(slack.services.db)) != before:
            problems.append(f"{sent.name}: stored something: {before} -> {now}")
            before = now
        if status != 200 and len(slack.fake.calls()) != calls:
            problems.append(f"{sent.name}: called Slack: {slack.fake.calls()[calls:]}")
        calls = len(slack.fake.calls())
    assert not problems, "\n".join(problems)


async def raw_post(slack: SlackHarness, headers: list[bytes], body: bytes) -> int:
    """POST over a bare socket, so header values may hold any bytes; the status answered."""
    assert slack.server is not None
    reader, writer = await asyncio.open_connection(slack.server.host, slack.server.port)
    head = [
        b"POST /slack/events HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Connection: close",
        b"Content-Type: " + FORM.encode(),
        b"Content-Length: " + str(len(body)).encode(),
        *headers,
    ]
    writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
    await writer.drain()
    status_line = await reader.readline()
    await reader.read()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


async def test_unsigned_or_unreadably_signed_requests_are_401_before_anything_is_parsed(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await filed_case(slack)
    now = str(int(time.time()))
    approve = form(press())  # dana's press: were it read, the case would be approved
    unsigned = {"Content-Type": FORM}
    await check_each(
        slack,
        caplog,
        [
            Sent("no signature headers", NOT_JSON, headers=unsigned),
            Sent(
                "a timestamp that is not a number",
                approve,
                headers={
                    **unsigned,
                    "X-Slack-Request-Timestamp": "soon",
                    "X-Slack-Signature": signature(SECRET, approve.decode(), "soon"),
                },
            ),
            Sent(
                "a signature that is not ASCII",
                approve,
                headers={
                    **unsigned,
                    "X-Slack-Request-Timestamp": now,
                    "X-Slack-Signature": "v0=" + "é" * 64,
                },
            ),
        ],
        status=401,
        warnings=None,
    )
    caplog.clear()
    garbage = [b"X-Slack-Request-Timestamp: \xff\xfe", b"X-Slack-Signature: v0=\xff\xfe\x80"]
    assert await raw_post(slack, garbage, approve) == 401
    await slack.settle()
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert (await slack.details("EXC-000001")).decisions == []


async def test_signed_bodies_that_cannot_be_from_slack_are_400(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await filed_case(slack)
    command = parse_qsl(slash_command_body(command="/approvals", text="list", user_id="U0LEE"))
    anonymous = [(k, v) for k, v in command if k not in ("user_id", "response_url")]
    view = {"type": "modal", "callback_id": "exc_rationale", "state": {"values": {"x": [1]}}}
    await check_each(
        slack,
        caplog,
        [
            Sent("a payload that is a JSON string", form("block_actions")),
            Sent("a payload that is a list", form([press()])),
            Sent("a payload that is not JSON", NOT_JSON),
            Sent("an interaction of no type Slack has", form(press(type="exc_hack"))),
            Sent("actions that are not a list", form(press(actions=press()["actions"][0]))),
            Sent("actions that are not objects", form(press(actions=["exc_approve"]))),
            Sent("a user that is not an object", form(press(user="U0DANA"))),
            Sent("a view that is not an object", form(submission("exc_rationale", view="x"))),
            Sent("state values that are not inputs", form(submission("x", view=view))),
            Sent("a body that is not UTF-8", b"payload=%7B%7D\xff\xfe"),
            Sent("a body that is not form-encoded", b"payload"),
            Sent("a slash command without user or response_url", urlencode(anonymous).encode()),
            Sent("an event body that is a list", b"[]", content_type=JSON),
            Sent(
                "an event that is a string",
                json.dumps({"type": "event_callback", "event": "app_home_opened"}).encode(),
                content_type=JSON,
            ),
        ],
        status=400,
    )


async def test_well_formed_requests_the_app_does_not_know_are_acked_and_dropped(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await filed_case(slack)
    value = buttons_of(slack.card_of("U0DANA"))[actions.APPROVE]
    step = int(value.rsplit(":", 1)[1])

    def metadata(**bent: Any) -> str:
        meta = {"case": 1, "step": step, "action": actions.REJECT, "channel": None, "home": False}
        return json.dumps({**meta, **bent})

    def rationale(meta: str) -> bytes:
        return form(submission("exc_rationale", meta))

    await check_each(
        slack,
        caplog,
        [
            Sent("a value ending in a newline", form(press(actions=pressed(value + "\n")))),
            Sent(
                "a value in Arabic-Indic digits",
                form(press(actions=pressed(value.translate(ARABIC_DIGITS)))),
            ),
            Sent("an action id not ours", form(press(actions=pressed(value, "approve_all")))),
            Sent("metadata with a channel object", rationale(metadata(channel={"id": "C1"}))),
            Sent("metadata with a case in other digits", rationale(metadata(case="١"))),
            Sent("metadata with a case id past int32", rationale(metadata(case=10**12))),
            Sent("a modal not ours", form(submission("exc_self_destruct"))),
            Sent("a view_closed never asked for", form(submission("exc_file", type="view_closed"))),
            Sent(
                "a slash command not ours",
                slash_command_body(command="/nuke", text="all", user_id="U0LEE").encode(),
            ),
            Sent("app_rate_limited", json.dumps({"type": "app_rate_limited"}).encode(), JSON),
        ],
        status=200,
    )


DEPTH = 100_000  # the URL-encoded body stays under the 1 MiB a Slack request may have


async def test_huge_or_deeply_nested_payloads_are_refused_quickly(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await filed_case(slack)
    arrays = "[" * DEPTH + "]" * DEPTH
    objects = '{"a":' * (DEPTH // 5) + "1" + "}" * (DEPTH // 5)
    in_a_press = json.dumps(press())[:-1] + ', "junk": ' + arrays + "}"
    long_number = json.dumps(press())[:-1] + ', "n": ' + "9" * 500_000 + "}"
    await check_each(
        slack,
        caplog,
        [
            Sent(name, urlencode({"payload": payload}).encode())
            for name, payload in [
                ("nested arrays", arrays),
                ("nested objects", objects),
                ("nesting inside a press", in_a_press),
                ("a number of 500,000 digits in a press", long_number),
            ]
        ],
        status=400,
        quick=True,
    )


async def test_a_slash_command_whose_text_says_payload_is_answered(slack: SlackHarness) -> None:
    # Bolt took any form body holding the word "payload" for an interaction, and read nothing.
    answer = await slack.command("U0LEE", "/approvals", "payload", "payload-hook")
    await slack.settle()
    assert answer.status == 200
    assert slack.fake.responses("payload-hook")  # answered (here: how to use /approvals)

"""The bot's real HTTP server with Slack mounted, the fake Slack Web API behind it, and signed
requests in front of it: what the Slack flow tests drive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.serve import Runtime, build_runtime
from bot.settings import load_settings
from cards import actions
from handlers.context import Services
from handlers.queries import CaseDetails, case_details
from storage.tables import outbox
from tests.slack.fake_slack_api import BOT_TOKEN, FakeSlackAPI, Message
from tests.slack.signing import (
    FORM,
    JSON,
    app_home_opened_body,
    block_actions_payload,
    interaction_body,
    signed_headers,
    slash_command_body,
    text_state,
    view_submission_payload,
)

SECRET = "test-signing-secret"
API_TOKEN = "intake-token"


@dataclass
class Answer:
    status: int
    body: str
    seconds: float


@dataclass
class SlackHarness:
    services: Services
    runtime: Runtime
    server: TestServer | None  # None when another harness owns the server
    fake: FakeSlackAPI
    http: ClientSession

    async def post(
        self,
        body: str,
        *,
        content_type: str = FORM,
        timestamp: int | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        stamp = int(time.time()) if timestamp is None else timestamp
        sent = {**signed_headers(secret, body, stamp, content_type=content_type), **(headers or {})}
        started = time.perf_counter()
        async with self.http.post("/slack/events", data=body, headers=sent) as response:
            text = await response.text()
            return Answer(response.status, text, time.perf_counter() - started)

    async def post_bytes(self, body: bytes, headers: dict[str, str]) -> Answer:
        """POST `body` as it is to /slack/events with exactly `headers` (sign them yourself)."""
        started = time.perf_counter()
        async with self.http.post("/slack/events", data=body, headers=headers) as response:
            text = await response.text()
            return Answer(response.status, text, time.perf_counter() - started)

    async def file(self, **fields: Any) -> str:
        """File through the intake API; returns the case id (EXC-...)."""
        event = {"code": "OFF_CONTRACT", "title": "Laptops", "requester": "rita", **fields}
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with self.http.post("/api/v1/exceptions", json=event, headers=headers) as response:
            assert response.status == 201, await response.text()
            return str((await response.json())["id"])

    async def press(self, user: str, card: Message, action_id: str) -> Answer:
        value = buttons_of(card)[action_id]
        payload = block_actions_payload(
            user_id=user,
            action_id=action_id,
            value=value,
            channel_id=card.channel,
            message_ts=card.ts,
            trigger_id=f"trigger-{user}-{time.monotonic_ns()}",
        )
        return await self.post(interaction_body(payload))

    async def submit_rationale(self, user: str, modal: dict[str, Any], text: str) -> Answer:
        payload = view_submission_payload(
            user_id=user,
            callback_id=modal["callback_id"],
            private_metadata=modal["private_metadata"],
            values={"rationale": {"rationale_input": text_state(text)}},
            view_id=modal["id"],
        )
        return await self.post(interaction_body(payload))

    async def command(self, user: str, command: str, text: str, hook: str) -> Answer:
        body = slash_command_body(
            command=command,
            text=text,
            user_id=user,
            response_url=self.fake.response_url(hook),
            trigger_id=f"trigger-{hook}",
        )
        return await self.post(body)

    async def open_home(self, user: str, headers: dict[str, str] | None = None) -> Answer:
        return await self.post(
            app_home_opened_body(user_id=user), content_type=JSON, headers=headers
        )

    def card_of(self, user: str) -> Message:
        """The newest message in the bot's DM with `user` that has buttons."""
        cards = [m for m in self.fake.messages_in(FakeSlackAPI.dm_channel(user)) if m.blocks]
        assert cards, f"no card in the DM with {user}"
        return cards[-1]

    async def details(self, case_ref: str) -> CaseDetails:
        return await case_details(self.services, int(case_ref.removeprefix("EXC-")))

    async def settle(self) -> None:
        """Wait for acknowledged work and for the outbox to drain."""
        await eventually(self._settled)

    async def _settled(self) -> bool:
        """No acknowledged work running, and nothing due left in the outbox (claimed or not:
        the running delivery loop may hold a claim while it sends)."""
        if len(self.runtime.tasks):
            return False
        await self.runtime.delivery.deliverer.deliver_due()
        now = self.services.clock.now()
        async with self.services.db.reading() as conn:
            waiting = await conn.scalar(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
            )
        return not waiting and not len(self.runtime.tasks)


def buttons_of(message: Message) -> dict[str, str]:
    """action_id -> value of the buttons on a message (empty when it has none)."""
    return {
        element["action_id"]: element["value"]
        for block in message.blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("action_id") in actions.ALL
    }


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], within: float = 10.0
) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def slack_for(
    services: Services, fake: FakeSlackAPI, **extra: str
) -> AsyncIterator[SlackHarness]:
    """The real server with Slack mounted, talking to `fake`, for `services`' policy; `extra`
    settings on top."""
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.url,
            "APPROVALS_API_TOKEN": API_TOKEN,
            **extra,
        }
    )
    runtime = build_runtime(services, settings)
    server = TestServer(runtime.app, host="127.0.0.1", port=0)
    await server.start_server()
    await runtime.start()
    try:
        async with ClientSession(base_url=str(server.make_url("/"))) as http:
            yield SlackHarness(services, runtime, server, fake, http)
    finally:
        await runtime.stop()
        await server.close()

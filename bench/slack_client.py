"""Slack's side of `bench.slack_presses`, run as a child process: it hosts the fake Slack Web API
(tests/slack/fake_slack_api.py) and sends the signed button presses, so that neither costs the
server's event loop anything.

    python -m bench.slack_client   (started by bench.slack_presses; JSON lines on stdin/stdout)

Commands, one JSON object a line; each gets one JSON line back:
  {"cmd": "cards", "users": [...]}  -> {"cards": [[user, channel, ts, approve value], ...]}
  {"cmd": "press", "url": ..., "secret": ..., "presses": [[user, value, channel, ts], ...],
   "action_id": "exc_approve" (the default)}
      -> {"results": [[sent, acked, status], ...]}: all presses at once, each on a fresh
         connection; `sent` and `acked` are time.perf_counter() (CLOCK_MONOTONIC on Linux, so
         comparable with the parent's clock)
  {"cmd": "calls"}                  -> {"calls": {method: [ok, failed]}}
  {"cmd": "quit"}                   -> {"bye": true}, then the process ends
The first line written, before any command, is {"url": <the fake Web API's base URL>}.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from collections import Counter
from typing import Any

from aiohttp import ClientSession, ClientTimeout, TCPConnector

from cards import actions
from tests.slack.fake_slack_api import FakeSlackAPI, SlackUser
from tests.slack.signing import block_actions_payload, interaction_body, signed_headers

# The people of tests/data/policy.yaml the benchmark's cases involve, as the workspace has them.
USERS = (
    SlackUser("U0RITA", "rita@acme.example", "Rita Requester", "rita"),
    SlackUser("U0LEE", "lee@acme.example", "Lee Park", "lee"),
    SlackUser("U0DANA", "dana@acme.example", "Dana Reyes", "dana"),
    SlackUser("U0MARIA", "maria@acme.example", "Maria Finance", "maria"),
)
PRESS_TIMEOUT_SECONDS = 30.0


def _approve_value(blocks: list[dict[str, Any]]) -> str | None:
    for block in blocks:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            if element.get("action_id") == actions.APPROVE:
                return str(element["value"])
    return None


def cards(fake: FakeSlackAPI, users: list[str]) -> list[list[str]]:
    found = []
    for user in users:
        for message in fake.messages_in(FakeSlackAPI.dm_channel(user)):
            value = _approve_value(message.blocks)
            if value is not None:
                found.append([user, message.channel, message.ts, value])
    return found


async def _press(
    http: ClientSession, url: str, secret: str, action_id: str, press: list[str], n: int
) -> list[float]:
    user, value, channel, ts = press
    payload = block_actions_payload(
        user_id=user,
        action_id=action_id,
        value=value,
        channel_id=channel,
        message_ts=ts,
        trigger_id=f"bench-trigger-{n}-{time.monotonic_ns()}",
        label="Approve",
    )
    body = interaction_body(payload)
    headers = signed_headers(secret, body, int(time.time()))
    sent = time.perf_counter()
    async with http.post(url, data=body, headers=headers) as response:
        await response.read()
        acked = time.perf_counter()
        return [sent, acked, float(response.status)]


async def press_all(
    url: str, secret: str, action_id: str, presses: list[list[str]]
) -> list[list[float]]:
    """All presses at once, each on a fresh TCP connection (no keep-alive to warm or lose)."""
    connector = TCPConnector(force_close=True, limit=0)
    timeout = ClientTimeout(total=PRESS_TIMEOUT_SECONDS)
    async with ClientSession(connector=connector, timeout=timeout) as http:
        return list(
            await asyncio.gather(
                *(_press(http, url, secret, action_id, press, n) for n, press in enumerate(presses))
            )
        )


def calls(fake: FakeSlackAPI) -> dict[str, list[int]]:
    ok: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for call in fake.calls():
        (ok if call.ok else failed)[call.method] += 1
    return {method: [ok[method], failed[method]] for method in sorted(ok | failed)}


def _say(answer: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


async def main_async() -> int:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with FakeSlackAPI(users=USERS) as fake:
        _say({"url": fake.url})
        while line := await reader.readline():
            order = json.loads(line)
            cmd = order.get("cmd")
            if cmd == "cards":
                _say({"cards": cards(fake, list(order["users"]))})
            elif cmd == "press":
                action_id = str(order.get("action_id", actions.APPROVE))
                gc.collect()  # this process measures: no collection pauses it mid-burst
                gc.disable()
                try:
                    results = await press_all(
                        order["url"], order["secret"], action_id, order["presses"]
                    )
                finally:
                    gc.enable()
                _say({"results": results})
            elif cmd == "calls":
                _say({"calls": calls(fake)})
            elif cmd == "quit":
                _say({"bye": True})
                break
            else:
                _say({"error": f"unknown command {cmd!r}"})
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main_async()))

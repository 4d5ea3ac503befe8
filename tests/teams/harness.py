"""The bot's real server with Teams (and optionally Slack) mounted, behind the Bot Framework
fakes: tokens minted by the fake OpenID server, replies recorded by the fake connector."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
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
from policy.loader import parse_policy
from policy.model import Policy
from storage.tables import audit_events, cases, decisions, outbox, teams_conversations
from tests.teams.activities import TeamsActivities, TeamsUser
from tests.teams.conftest import APP_ID, APP_PASSWORD, TENANT_ID
from tests.teams.fake_connector import FakeConnector
from tests.teams.fake_openid import FakeOpenID
from tests.teams.fake_token import FakeTokenEndpoint

API_TOKEN = "intake-token"
RITA = TeamsUser.make("Rita Requester", "rita@acme.example")
DANA = TeamsUser.make("Dana Reyes", "dana@acme.example")
MARIA = TeamsUser.make("Maria Finance", "maria@acme.example")
STRANGER = TeamsUser.make("Stan Stranger", "stan@elsewhere.example")

POLICY = f"""
name: Teams test policy
people:
  - {{id: rita, name: Rita Requester, email: rita@acme.example, teams: "{RITA.id}"}}
  - {{id: lee, name: Lee Park, email: lee@acme.example, slack: U0LEE}}
  - {{id: dana, name: Dana Reyes, email: dana@acme.example, aad: "{DANA.aad_object_id}"}}
  - {{id: maria, name: Maria Finance, email: maria@acme.example, teams: "{MARIA.id}"}}
taxonomy:
  - {{code: OFF_CONTRACT, title: Purchase from a supplier without a contract}}
tiers:
  - {{id: category-lead, approvers: [lee, dana], mode: any, sla: 4h}}
  - {{id: finance-director, approvers: [maria], mode: any, sla: 1d}}
rules:
  - {{id: high-value, when: amount > 25000.0, route: [category-lead, finance-director],
      ref: Procurement Policy 4.2, flags: [high-value]}}
defaults:
  route: [category-lead]
"""


def teams_policy() -> Policy:
    return parse_policy(POLICY, "teams-test-policy.yaml")


@dataclass
class TeamsHarness:
    services: Services
    runtime: Runtime
    http: ClientSession
    openid: FakeOpenID
    connector: FakeConnector
    token: FakeTokenEndpoint
    activities: TeamsActivities

    async def send(
        self, activity: dict[str, Any], *, token: str | None = None
    ) -> tuple[int, dict[str, Any] | None]:
        bearer = token or self.openid.mint(app_id=APP_ID, service_url=activity["serviceUrl"])
        headers = {"Authorization": f"Bearer {bearer}"}
        async with self.http.post("/api/messages", json=activity, headers=headers) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, body

    async def post(self, body: bytes, *, token: str | None = None) -> int:
        """POST raw bytes to /api/messages (with `token` as the bearer, if given)."""
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.post("/api/messages", data=body, headers=headers) as response:
            await response.read()
            return response.status

    async def stored(self) -> dict[str, int]:
        """How many rows the tables an activity could write to hold now."""
        counts: dict[str, int] = {}
        async with self.services.db.reading() as conn:
            for table in (cases, decisions, audit_events, teams_conversations):
                counts[table.name] = int(
                    await conn.scalar(select(func.count()).select_from(table)) or 0
                )
        return counts

    async def file(self, **fields: Any) -> str:
        event = {"code": "OFF_CONTRACT", "title": "Laptops", "requester": "rita", **fields}
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with self.http.post("/api/v1/exceptions", json=event, headers=headers) as response:
            assert response.status == 201, await response.text()
            return str((await response.json())["id"])

    async def details(self, ref: str) -> CaseDetails:
        return await case_details(self.services, int(ref.removeprefix("EXC-")))

    async def chats_of(self, person: str) -> list[str]:
        """The conversations the bot knows for `person` (the ones it opened, or they used)."""
        async with self.services.db.reading() as conn:
            rows = await conn.execute(
                select(teams_conversations.c.conversation_id).where(
                    teams_conversations.c.person == person
                )
            )
            return [row.conversation_id for row in rows]

    async def cards_for(self, person: str) -> list[dict[str, Any]]:
        """The Adaptive Cards in the bot's chats with `person`, as they stand now."""
        return [
            card
            for conversation in await self.chats_of(person)
            for activity in self.connector.activities_in(conversation)
            for card in activity.cards
        ]

    async def texts_for(self, person: str) -> list[str]:
        return [
            activity.text or ""
            for conversation in await self.chats_of(person)
            for activity in self.connector.activities_in(conversation)
        ]

    async def settle(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if not len(self.runtime.tasks):
                await self.runtime.delivery.deliverer.deliver_due()
                now = self.services.clock.now()
                async with self.services.db.reading() as conn:
                    waiting = await conn.scalar(
                        select(func.count())
                        .select_from(outbox)
                        .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
                    )
                if not waiting and not len(self.runtime.tasks):
                    return
            await asyncio.sleep(0.02)
        raise AssertionError("the outbox did not drain")


def settings_for(openid: FakeOpenID, token: FakeTokenEndpoint, **extra: str) -> dict[str, str]:
    return {
        "TEAMS_APP_ID": APP_ID,
        "TEAMS_APP_PASSWORD": APP_PASSWORD,
        "TEAMS_TENANT_ID": TENANT_ID,
        "TEAMS_AUTHORITY": token.authority,
        "TEAMS_OPENID_METADATA_URL": openid.metadata_url,
        "APPROVALS_API_TOKEN": API_TOKEN,
        "TEAMS_EMAIL_IDENTITY": "true",  # this deployment maps roster names (see test_identity)
        **extra,
    }


@asynccontextmanager
async def running(services: Services, settings: dict[str, str]) -> AsyncIterator[Runtime]:
    runtime = build_runtime(services, load_settings(settings))
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@asynccontextmanager
async def served(runtime: Runtime) -> AsyncIterator[ClientSession]:
    server = TestServer(runtime.app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with ClientSession(base_url=str(server.make_url("/"))) as http:
            yield http
    finally:
        await server.close()


async def say(teams: TeamsHarness, user: TeamsUser, text: str, **where: Any) -> str:
    """`user` writes `text` (in the conversation `where` describes, else their own chat); the
    bot's last reply there, once everything it queued was delivered."""
    activity = teams.activities.message(user, text)
    if where:
        activity["conversation"].update(where)
    status, _ = await teams.send(activity)
    assert status == 200
    await teams.settle()
    return teams.connector.activities_in(activity["conversation"]["id"])[-1].text or ""


def buttons_of(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        a["verb"]: a["data"]
        for a in card.get("actions", [])
        if a.get("type") == "Action.Execute" and a.get("verb") in actions.ALL
    }

"""Building the Teams edge from settings: token validation, the connector, the route."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from bot.settings import Settings
from bot.tasks import BackgroundTasks
from bot.teams.activities import TeamsActivities
from bot.teams.auth import BOT_FRAMEWORK_METADATA, BotFrameworkAuth, Unauthorized
from bot.teams.connector import BotConnector, ConnectorTokens
from bot.teams.messenger import TeamsMessenger
from handlers.context import Services

log = logging.getLogger(__name__)

TEAMS_PATH = "/api/messages"
MAX_ACTIVITY_BYTES = 256 * 1024


def default_authority(tenant_id: str) -> str:
    return f"https://login.microsoftonline.com/{tenant_id}"


@dataclass
class TeamsEdge:
    session: aiohttp.ClientSession
    tokens: ConnectorTokens
    auth: BotFrameworkAuth
    activities: TeamsActivities
    messenger: TeamsMessenger

    def add_routes(self, http: web.Application) -> None:
        http.router.add_post(TEAMS_PATH, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.content.read(MAX_ACTIVITY_BYTES + 1)
        if len(raw) > MAX_ACTIVITY_BYTES:
            return web.json_response({"error": "activity too large"}, status=413)
        try:
            activity = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if not isinstance(activity, dict):
            return web.json_response({"error": "the body is not an activity"}, status=400)
        try:
            await self.auth.validate(request.headers.get("Authorization"), activity)
        except Unauthorized as refused:
            log.warning("refused a Teams request: %s", refused.reason)
            return web.json_response({"error": "unauthorized"}, status=refused.status)
        reply = await self.activities.handle(activity)
        if reply is None:
            return web.Response(status=200)
        return web.json_response(reply.body, status=reply.status)

    async def stop(self) -> None:
        await self.session.close()
        self.tokens.close()


def build_teams(
    settings: Settings,
    services: Services,
    tasks: BackgroundTasks,
    wake_delivery: Callable[[], None],
) -> TeamsEdge:
    app_id, password, tenant = (
        settings.TEAMS_APP_ID,
        settings.TEAMS_APP_PASSWORD,
        settings.TEAMS_TENANT_ID,
    )
    if not (app_id and password and tenant):
        raise ValueError("Teams needs TEAMS_APP_ID, TEAMS_APP_PASSWORD and TEAMS_TENANT_ID")
    session = aiohttp.ClientSession()
    tokens = ConnectorTokens(
        app_id, password, settings.TEAMS_AUTHORITY or default_authority(tenant)
    )
    connector = BotConnector(session, tokens)
    auth = BotFrameworkAuth(
        session,
        app_id,
        metadata_url=settings.TEAMS_OPENID_METADATA_URL or BOT_FRAMEWORK_METADATA,
    )
    return TeamsEdge(
        session=session,
        tokens=tokens,
        auth=auth,
        activities=TeamsActivities(services, connector, tasks, wake_delivery),
        messenger=TeamsMessenger(connector, services.db, services.clock, app_id),
    )

"""Building the Teams edge from settings: token validation, the connector, the route."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from bot.audit_download import AuditDownloads
from bot.metrics import ApiObserver
from bot.settings import Settings
from bot.tasks import BackgroundTasks
from bot.teams.activities import TeamsActivities
from bot.teams.auth import BOT_FRAMEWORK_METADATA, BotFrameworkAuth, Unauthorized
from bot.teams.connector import BotConnector, ConnectorTokens
from bot.teams.inbound import MalformedActivity, check_shape, parse_body, read_body
from bot.teams.messenger import TeamsMessenger
from handlers.context import Services

log = logging.getLogger(__name__)

TEAMS_PATH = "/api/messages"


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
        """The token first, from the header alone; only then the body (bounded, parsed with
        limits), the token against it, and the shape of the parts the bot reads."""
        try:
            token = await self.auth.verify(request.headers.get("Authorization"))
        except Unauthorized as refused:
            return _refused(refused.reason, refused.status)
        try:
            activity = parse_body(await read_body(request.content, request.content_length))
            self.auth.check_activity(token, activity)
            check_shape(activity)
        except Unauthorized as refused:
            return _refused(refused.reason, refused.status)
        except MalformedActivity as malformed:
            log.warning("refused a malformed Teams activity: %s", malformed.reason)
            return web.json_response({"error": malformed.reason}, status=malformed.status)
        reply = await self.activities.handle(activity)
        if reply is None:
            return web.Response(status=200)
        return web.json_response(reply.body, status=reply.status)

    async def stop(self) -> None:
        await self.auth.close()
        await self.session.close()
        self.tokens.close()


def _refused(reason: str, status: int) -> web.Response:
    log.warning("refused a Teams request: %s", reason)
    return web.json_response({"error": "unauthorized"}, status=status)


def build_teams(
    settings: Settings,
    services: Services,
    tasks: BackgroundTasks,
    wake_delivery: Callable[[], None],
    *,
    downloads: AuditDownloads | None = None,
    observe: ApiObserver | None = None,
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
    connector = BotConnector(session, tokens, observe)
    auth = BotFrameworkAuth(
        session,
        app_id,
        metadata_url=settings.TEAMS_OPENID_METADATA_URL or BOT_FRAMEWORK_METADATA,
    )
    return TeamsEdge(
        session=session,
        tokens=tokens,
        auth=auth,
        activities=TeamsActivities(
            services,
            connector,
            tasks,
            wake_delivery,
            tenant_id=tenant,
            email_identity=settings.TEAMS_EMAIL_IDENTITY,
            downloads=downloads,
        ),
        messenger=TeamsMessenger(connector, services.db, services.clock, app_id),
    )

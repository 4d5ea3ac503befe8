"""The Bot Connector REST API: send, update and open conversations, with an msal token.

msal's ConfidentialClientApplication is made once per process (it caches the token) and is
called off the event loop, since it does blocking HTTP. Calls are retried on 429 (honouring
Retry-After), 412, 502, 503 and 504; what still fails becomes a DeliveryError for the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import quote

import aiohttp
import msal
import requests

from bot.messaging import DeliveryError
from bot.metrics import ApiObserver

log = logging.getLogger(__name__)

BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
RETRY_STATUSES = frozenset({412, 429, 502, 503, 504})
MAX_ATTEMPTS = 4
BASE_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 10.0


class ConnectorTokens:
    """Bearer tokens for the Bot Connector, from msal's client-credentials flow.

    msal's client does blocking HTTP, even when it is made (tenant discovery), so it is made
    on first use and always called off the event loop. One instance per process: msal caches
    the token until shortly before it expires.
    """

    def __init__(self, app_id: str, password: str, authority: str) -> None:
        self.app_id = app_id
        self.password = password
        self.authority = authority
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = asyncio.Lock()
        # msal's HTTP goes through this session, so shutdown can close its pooled connections.
        self._http = requests.Session()

    def _make(self) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            self.app_id,
            client_credential=self.password,
            authority=self.authority,
            # The single-tenant authority is given; no call to Microsoft's instance discovery.
            instance_discovery=False,
            http_client=self._http,
        )

    def close(self) -> None:
        self._http.close()

    async def token(self) -> str:
        try:
            async with self._lock:
                if self._app is None:
                    self._app = await asyncio.to_thread(self._make)
            app: Any = self._app  # msal ships no type information
            result: dict[str, Any] = await asyncio.to_thread(
                app.acquire_token_for_client, scopes=[BOT_FRAMEWORK_SCOPE]
            )
        except Exception as error:
            raise DeliveryError(f"Teams: could not get a Bot Connector token: {error}") from error
        if "access_token" not in result:
            reason = result.get("error_description") or result.get("error") or "no token"
            raise DeliveryError(f"Teams: could not get a Bot Connector token: {reason}")
        return str(result["access_token"])


def _retry_delay(attempt: int, response: aiohttp.ClientResponse | None) -> float:
    if response is not None and (header := response.headers.get("Retry-After")):
        try:
            return min(float(header), MAX_DELAY_SECONDS)
        except ValueError:
            pass
    doubling = 1 << min(attempt, 8)
    return min(BASE_DELAY_SECONDS * doubling, MAX_DELAY_SECONDS)


class BotConnector:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: ConnectorTokens,
        observe: ApiObserver | None = None,
    ) -> None:
        self.session = session
        self.tokens = tokens
        self.observe = observe  # told of each call (retries included), for /metrics

    async def _call(
        self, name: str, method: str, url: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """`name` is the connector operation, the metric's method label (URLs hold ids)."""
        started = time.perf_counter()
        status = "unreachable"
        try:
            result = await self._attempts(method, url, body)
            status = "ok"
            return result
        except DeliveryError as error:
            status = str(error.status) if error.status is not None else "unreachable"
            raise
        finally:
            if self.observe is not None:
                self.observe("teams", name, status, time.perf_counter() - started)

    async def _attempts(self, method: str, url: str, body: dict[str, Any] | None) -> dict[str, Any]:
        last = "no attempt"
        last_status: int | None = None
        for attempt in range(MAX_ATTEMPTS):
            headers = {"Authorization": f"Bearer {await self.tokens.token()}"}
            try:
                async with self.session.request(
                    method, url, json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=15)
                ) as response:
                    if response.status < 300:
                        text = await response.text()
                        return dict(await response.json()) if text.strip() else {}
                    last = f"HTTP {response.status}: {(await response.text())[:300]}"
                    last_status = response.status
                    if response.status not in RETRY_STATUSES:
                        raise DeliveryError(
                            f"Teams: {last}",
                            permanent=response.status < 500,
                            status=response.status,
                        )
                    delay = _retry_delay(attempt, response)
            except (aiohttp.ClientError, TimeoutError) as error:
                last, last_status = f"{type(error).__name__}: {error}", None
                delay = _retry_delay(attempt, None)
            if attempt + 1 < MAX_ATTEMPTS:
                log.info(
                    "Bot Connector %s %s failed (%s); retrying in %.1fs", method, url, last, delay
                )
                await asyncio.sleep(delay)
        raise DeliveryError(f"Teams: {last}", status=last_status)

    @staticmethod
    def _base(service_url: str) -> str:
        return service_url if service_url.endswith("/") else service_url + "/"

    def _conversation(self, service_url: str, conversation_id: str) -> str:
        return f"{self._base(service_url)}v3/conversations/{quote(conversation_id, safe='')}"

    async def send(self, service_url: str, conversation_id: str, activity: dict[str, Any]) -> str:
        url = f"{self._conversation(service_url, conversation_id)}/activities"
        return str((await self._call("send", "POST", url, activity)).get("id", ""))

    async def update(
        self, service_url: str, conversation_id: str, activity_id: str, activity: dict[str, Any]
    ) -> None:
        url = (
            f"{self._conversation(service_url, conversation_id)}"
            f"/activities/{quote(activity_id, safe='')}"
        )
        await self._call("update", "PUT", url, {**activity, "id": activity_id})

    async def member(self, service_url: str, conversation_id: str, user_id: str) -> dict[str, Any]:
        """What Teams reports about a member of a conversation (name, email, UPN)."""
        url = (
            f"{self._conversation(service_url, conversation_id)}/members/{quote(user_id, safe='')}"
        )
        return await self._call("member", "GET", url)

    async def open_personal_chat(
        self, service_url: str, tenant_id: str | None, bot_id: str, user_id: str
    ) -> str:
        """The id of the 1:1 conversation between the bot and `user_id` (created if needed)."""
        body: dict[str, Any] = {
            "bot": {"id": bot_id},
            "members": [{"id": user_id}],
            "isGroup": False,
        }
        if tenant_id:
            body["tenantId"] = tenant_id
            body["channelData"] = {"tenant": {"id": tenant_id}}
        url = f"{self._base(service_url)}v3/conversations"
        result = await self._call("open_conversation", "POST", url, body)
        return str(result["id"])

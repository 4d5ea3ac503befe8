"""The Slack Web API client, timing every call for /metrics by method and outcome.

Every Web API method of slack_sdk's client goes through `api_call`, retries included, so
timing it there covers them all. The status is "ok" or Slack's error code ("ratelimited",
"channel_not_found", ...), or "unreachable" when no answer came.
"""

from __future__ import annotations

import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.metrics import ApiObserver


class MeteredWebClient(AsyncWebClient):
    def __init__(self, observe: ApiObserver, **options: Any) -> None:
        super().__init__(**options)
        self.observe = observe

    async def api_call(self, api_method: str, **options: Any) -> AsyncSlackResponse:
        started = time.perf_counter()
        status = "unreachable"
        try:
            response = await super().api_call(api_method, **options)
            status = "ok"
            return response
        except SlackApiError as error:
            status = str(error.response.get("error") or error.response.status_code)
            raise
        finally:
            self.observe("slack", api_method, status, time.perf_counter() - started)

"""The real aiohttp server on a random loopback port, talked to with a real HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.server import create_app
from handlers.context import Services

API_TOKEN = "test-intake-token"


@pytest.fixture
async def server(services: Services) -> AsyncIterator[TestServer]:
    server = TestServer(create_app(services, api_token=API_TOKEN), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def http(server: TestServer) -> AsyncIterator[ClientSession]:
    async with ClientSession(base_url=str(server.make_url("/"))) as session:
        yield session


def auth(token: str = API_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

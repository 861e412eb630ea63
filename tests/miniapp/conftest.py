"""Fixtures of the Mini App tests: the whole system (bot, web app, sandbox Bot API) over test services."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from roles.redis_server import RedisEndpoint
from tests.bot.conftest import world  # noqa: F401 - the running system, as the bot tests have it
from tests.bot.harness import BotWorld, open_world


@pytest.fixture
async def counted_world(
    engine: AsyncEngine, database_url: str, private_redis_endpoint: RedisEndpoint
) -> AsyncIterator[BotWorld]:
    """The `world`, on a Redis server of the test's own (its commandstats count this world's calls alone)."""
    async with open_world(database_url, private_redis_endpoint.url) as running:
        yield running

"""Fixtures of the seat-map bot tests: the bot running against the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from roles.redis_server import RedisEndpoint
from tests.bot_seats.bot_harness import SeatBot, running_seat_bot


@pytest.fixture
async def seat_bot(
    database_url: str, engine: object, redis: aioredis.Redis, redis_endpoint: RedisEndpoint
) -> AsyncIterator[SeatBot]:
    """The bot's Application polling the Telegram sandbox, over the test's (empty) database and Redis."""
    async with running_seat_bot(database_url, redis_endpoint.url) as bot:
        yield bot

"""Fixtures of the seat-map bot tests: the bot running against the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial

import pytest
import redis.asyncio as aioredis

from roles.redis_server import RedisEndpoint
from tests.bot_seats.bot_harness import SeatBot, running_seat_bot

SeatBotWith = Callable[..., AbstractAsyncContextManager[SeatBot]]


@pytest.fixture
def seat_bot_with(
    database_url: str, engine: object, redis: aioredis.Redis, redis_endpoint: RedisEndpoint
) -> SeatBotWith:
    """Runs the bot with the given settings overridden (`seat_bot_with(HOLD_SECONDS=2)`), over the
    test's (empty) database and Redis."""
    return partial(running_seat_bot, database_url, redis_endpoint.url)


@pytest.fixture
async def seat_bot(seat_bot_with: SeatBotWith) -> AsyncIterator[SeatBot]:
    """The bot's Application polling the Telegram sandbox, over the test's (empty) database and Redis."""
    async with seat_bot_with() as bot:
        yield bot

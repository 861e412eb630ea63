"""Fixtures of the seat-map bot tests: our own PostgreSQL database, and the bot running against the sandbox.

PostgreSQL runs in a database of our own (test_bot_seats_<pid>), created for the session and dropped
after it, so that other suites sharing TEST_POSTGRES_URL's database cannot drop our tables mid-test.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

from booking_core.redis_server import RedisEndpoint
from tests.bot_seats.bot_harness import SeatBot, running_seat_bot
from tests.conftest import service_url


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def bot_seats_postgres_url() -> Iterator[str | None]:
    """A fresh database beside TEST_POSTGRES_URL's, dropped at the end; None without PostgreSQL."""
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        yield None
        return
    name = f"test_bot_seats_{os.getpid()}"
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(False)
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, bot_seats_postgres_url: str | None) -> str:
    """A database URL per backend: a fresh SQLite file, and our own PostgreSQL database when configured."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}"
    if bot_seats_postgres_url is None:
        return service_url("TEST_POSTGRES_URL", "PostgreSQL")
    return bot_seats_postgres_url


@pytest.fixture
async def seat_bot(
    database_url: str, engine: object, redis: aioredis.Redis, redis_endpoint: RedisEndpoint
) -> AsyncIterator[SeatBot]:
    """The bot's Application polling the Telegram sandbox, over the test's (empty) database and Redis."""
    async with running_seat_bot(database_url, redis_endpoint.url) as bot:
        yield bot

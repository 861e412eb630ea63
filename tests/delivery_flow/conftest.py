"""Fixtures of the delivery flow tests: our own PostgreSQL database, a broker per kind, the whole stand.

PostgreSQL runs in a database of our own (created for the session, dropped after it), so suites sharing
TEST_POSTGRES_URL's database cannot drop our tables mid-test. The broker is the embedded (or
TEST_REDIS_URL) Redis, and RabbitMQ too when TEST_RABBITMQ_URL is set (skipped on a laptop, failing in CI).
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
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.redis_server import RedisEndpoint
from tests.conftest import service_url
from tests.delivery_flow.stand import Stand, open_stand


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def own_postgres_url() -> Iterator[str | None]:
    """A fresh database beside TEST_POSTGRES_URL's, dropped at the end; None without PostgreSQL."""
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        yield None
        return
    name = f"test_delivery_flow_{os.getpid()}"
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(False)
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, own_postgres_url: str | None) -> str:
    """A database URL per backend: a fresh SQLite file, and our own PostgreSQL database when configured."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'marquee.db'}"
    if own_postgres_url is None:
        return service_url("TEST_POSTGRES_URL", "PostgreSQL")
    return own_postgres_url


@pytest.fixture
def broker_url(redis_endpoint: RedisEndpoint) -> str:
    """The Dramatiq broker of most tests: the test Redis."""
    return redis_endpoint.url


@pytest.fixture
async def stand(
    engine: AsyncEngine,
    redis: aioredis.Redis,
    redis_endpoint: RedisEndpoint,
    broker_url: str,
    database_url: str,
) -> AsyncIterator[Stand]:
    """Sandboxes, the web app, the core and a broker, wired by roles.resources; the schema is `engine`'s."""
    async with open_stand(database_url, redis_endpoint.url, broker_url) as opened:
        yield opened


def both_brokers(request: pytest.FixtureRequest, redis_endpoint: RedisEndpoint) -> str:
    """For tests parametrized over the broker kind: Redis, or RabbitMQ when configured."""
    if request.param == "redis":
        return redis_endpoint.url
    return service_url("TEST_RABBITMQ_URL", "RabbitMQ")

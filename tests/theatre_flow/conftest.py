"""Fixtures of the connected-cinema flow tests: the sandbox theatre over real HTTP, the core built by
roles/resources.py, real Redis, and SQLite or PostgreSQL (tests/conftest.py's `database_url`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import redis.asyncio as aioredis

from roles.redis_server import RedisEndpoint
from sandbox.theatre import TheatreSandbox, start_theatre_sandbox
from tests.support.clocks import TheatreClock
from tests.theatre_flow.stand import Stand, open_stand


@pytest.fixture
def theatre_clock() -> TheatreClock:
    """The sandbox theatre's clock: real time at the start, moved by the test."""
    return TheatreClock()


@pytest.fixture
async def sandbox(theatre_clock: TheatreClock) -> AsyncIterator[TheatreSandbox]:
    """A seeded sandbox theatre on 127.0.0.1 (two cinemas, three halls, a week of shows)."""
    _, _, sandbox = await start_theatre_sandbox(clock=theatre_clock)
    yield sandbox
    await sandbox.close()


@pytest.fixture
def make_stand(
    database_url: str,
    redis_endpoint: RedisEndpoint,
    redis: aioredis.Redis,
    sandbox: TheatreSandbox,
    theatre_clock: TheatreClock,
) -> Callable[..., AbstractAsyncContextManager[Stand]]:
    """Open the system on a clean Redis and database, synced with the sandbox theatre (settings may vary)."""

    def build(**settings: Any) -> AbstractAsyncContextManager[Stand]:
        return open_stand(database_url, redis_endpoint.url, sandbox, theatre_clock, **settings)

    return build


@pytest.fixture
async def stand(make_stand: Callable[..., AbstractAsyncContextManager[Stand]]) -> AsyncIterator[Stand]:
    """The system with the production time budget for theatre calls (about a second)."""
    async with make_stand() as opened:
        yield opened

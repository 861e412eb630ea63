"""Fixtures of the seat-hold tests: a hold store on real Redis over a real SQL catalogue, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.store import HoldStore
from roles.redis_server import RedisEndpoint
from tests.support.clocks import HandClock


@pytest.fixture
def clock() -> HandClock:
    """Time that moves only when the test says so."""
    return HandClock()


@pytest.fixture
def sink() -> CollectingSink:
    """The events the core published, in order."""
    return CollectingSink()


@pytest.fixture
def inventory(sessions: SessionFactory) -> SqlInventory:
    """The SQL inventory and layout source."""
    return SqlInventory(sessions)


@pytest.fixture
async def store(
    redis: aioredis.Redis, inventory: SqlInventory, sink: CollectingSink, clock: HandClock
) -> AsyncIterator[HoldStore]:
    """A hold store with the fake clock: holds last 300 s, offers 120 s, 10 seats, 60 attempts a minute."""
    yield HoldStore(redis, inventory, sink, clock=clock)


@pytest.fixture
async def counted_redis(private_redis_endpoint: RedisEndpoint) -> AsyncIterator[aioredis.Redis]:
    """A client of the test's own Redis server, whose commandstats count this test's commands alone."""
    client = private_redis_endpoint.client()
    yield client
    await client.aclose()


@pytest.fixture
def counted_store(
    counted_redis: aioredis.Redis, inventory: SqlInventory, sink: CollectingSink, clock: HandClock
) -> HoldStore:
    """The `store` of the other tests, on `counted_redis`."""
    return HoldStore(counted_redis, inventory, sink, clock=clock)

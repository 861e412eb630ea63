"""Fixtures of the seat-hold tests: a hold store on real Redis over a real SQL catalogue, a fake clock."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.holds import HoldStore
from booking_core.inventory import SqlInventory
from booking_core.redis_server import RedisEndpoint
from tests.redis_topologies import RedisClusterServers

# These modules run twice: on one Redis server, and on a real Redis Cluster, where a script call whose
# keys span two slots is refused (so every script must keep to its show's `{show:<id>}` slot).
ON_A_CLUSTER_TOO = {
    "test_holds",
    "test_races",
    "test_recovery",
    "test_seat_map",
    "test_sweeper",
    "test_waitlist",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the modules above on both kinds of Redis."""
    module = metafunc.module.__name__.rpartition(".")[2]
    if module in ON_A_CLUSTER_TOO and "redis_endpoint" in metafunc.fixturenames:
        metafunc.parametrize("redis_endpoint", ["server", "cluster"], indirect=True)


@pytest.fixture
def redis_endpoint(request: pytest.FixtureRequest, redis_endpoint: RedisEndpoint) -> RedisEndpoint:
    """The session's Redis server, or (param "cluster") the session's Redis Cluster."""
    if getattr(request, "param", "server") == "server":
        return redis_endpoint
    cluster: RedisClusterServers = request.getfixturevalue("redis_cluster")
    return RedisEndpoint(url=cluster.url)


class FakeClock:
    """A clock the test moves by hand (seconds since the epoch, starting at the real time)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """Time that moves only when the test says so."""
    return FakeClock()


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
    redis: aioredis.Redis, inventory: SqlInventory, sink: CollectingSink, clock: FakeClock
) -> AsyncIterator[HoldStore]:
    """A hold store with the fake clock: holds last 300 s, offers 120 s, 10 seats, 60 attempts a minute."""
    yield HoldStore(redis, inventory, sink, clock=clock)

"""What each OS process of the race tests runs: many hold attempts at once, from its own event loop.

Run in racing processes (tests/support/racing.py): each opens its own Redis client and SQL engine, waits
at the start line until every process of the race is there, so that they really overlap, fires its
attempts concurrently and returns the (user, seats) of every attempt that it was told succeeded.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

import redis.asyncio as aioredis

from booking_core.database import create_engine, create_session_factory
from booking_core.events import CollectingSink
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.store import Hold, HoldStore
from booking_core.redis_url import async_client, is_cluster
from tests.support.racing import RacingPools, start_together

CLUSTER_CONNECTIONS = 400
PROCESSES = 4
Attempt = Callable[[int, list[int]], Awaitable[bool]]
T = TypeVar("T")


async def in_processes(pools: RacingPools, worker: partial[T], processes: int = PROCESSES) -> list[T]:
    """Run `worker(first_user=...)` in `processes` processes at once (each its own users, all starting
    at one moment); what each returned."""
    return await pools.race([partial(worker, first_user=1 + p * 10_000) for p in range(processes)])


def _client(redis_url: str) -> aioredis.Redis:
    if is_cluster(redis_url):
        # A cluster client's pools raise when full rather than wait: room for every attempt at once.
        return async_client(redis_url, decode_responses=True, max_connections=CLUSTER_CONNECTIONS)
    # Attempts beyond the pool's connections wait for one instead of failing.
    pool = aioredis.BlockingConnectionPool.from_url(redis_url, decode_responses=True, max_connections=50)
    return aioredis.Redis(connection_pool=pool)


def _choices(seed: int, seats: list[int], attempts: int) -> list[list[int]]:
    rng = random.Random(seed)
    return [sorted(rng.sample(seats, rng.randint(1, 3))) for _ in range(attempts)]


async def _fire(attempt: Attempt, first_user: int, seats: list[int], attempts: int) -> list:
    choices = _choices(first_user, seats, attempts)
    await start_together()
    results = await asyncio.gather(*(attempt(first_user + i, choice) for i, choice in enumerate(choices)))
    return [
        (first_user + i, choice) for i, (ok, choice) in enumerate(zip(results, choices, strict=True)) if ok
    ]


def hold_store_worker(
    redis_url: str,
    database_url: str,
    show_id: int,
    seats: list[int],
    first_user: int,
    attempts: int,
) -> list[tuple[int, list[int]]]:
    """Hold attempts through HoldStore (the atomic Lua script)."""

    async def main() -> list:
        engine = create_engine(database_url)
        redis = _client(redis_url)
        store = HoldStore(redis, SqlInventory(create_session_factory(engine)), CollectingSink())

        async def attempt(user: int, choice: list[int]) -> bool:
            return isinstance(await store.hold(show_id, user, choice), Hold)

        try:
            return await _fire(attempt, first_user, seats, attempts)
        finally:
            await redis.aclose()
            await engine.dispose()

    return asyncio.run(main())


def naive_worker(
    redis_url: str, show_id: int, seats: list[int], first_user: int, attempts: int
) -> list[tuple[int, list[int]]]:
    """The control: check every seat is free, then set them, as two steps (no atomicity)."""

    async def main() -> list:
        redis = _client(redis_url)

        async def attempt(user: int, choice: list[int]) -> bool:
            keys = [f"naive:{{show:{show_id}}}:seat:{seat}" for seat in choice]
            if any(await redis.mget(keys)):
                return False
            await redis.mset({key: user for key in keys})
            return True

        try:
            return await _fire(attempt, first_user, seats, attempts)
        finally:
            await redis.aclose()

    return asyncio.run(main())


def reminders_worker(
    redis_url: str, database_url: str, now: float, first_user: int, askers: int = 4
) -> list[str]:
    """`askers` loops asking HoldStore.due_reminders at the moment `now` until none are left; the
    tokens of the holds they were handed (`first_user` only tells the processes apart)."""

    async def main() -> list[str]:
        engine = create_engine(database_url)
        redis = _client(redis_url)
        store = HoldStore(
            redis, SqlInventory(create_session_factory(engine)), CollectingSink(), clock=lambda: now
        )

        async def ask() -> list[str]:
            handed: list[str] = []
            while due := await store.due_reminders():
                handed += [hold.token for hold in due]
            return handed

        try:
            await start_together()
            return [
                token for tokens in await asyncio.gather(*(ask() for _ in range(askers))) for token in tokens
            ]
        finally:
            await redis.aclose()
            await engine.dispose()

    return asyncio.run(main())

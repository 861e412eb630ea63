"""Counting what our clients asked Redis to do, from INFO commandstats."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis


async def round_trips(redis: aioredis.Redis) -> int:
    """Script calls (EVALSHA, plus EVAL and SCRIPT LOAD if any) since the last CONFIG RESETSTAT."""
    stats = await redis.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval", "script"))


class Sends:
    """How many times a client sent something to Redis: its round trips (a pipeline is one send)."""

    def __init__(self) -> None:
        self.count = 0


def counting_client(url: str, sends: Sends) -> aioredis.Redis:
    """A client of the one Redis server at `url` that counts its sends in `sends`."""

    class CountingConnection(aioredis.Connection):
        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            sends.count += 1
            await super().send_packed_command(command, check_health)

    pool = aioredis.ConnectionPool.from_url(url, connection_class=CountingConnection)
    return aioredis.Redis(connection_pool=pool)

"""Counting what our clients asked Redis to do, from INFO commandstats."""

from __future__ import annotations

import redis.asyncio as aioredis


async def round_trips(redis: aioredis.Redis) -> int:
    """Script calls (EVALSHA, plus EVAL and SCRIPT LOAD if any) since the last CONFIG RESETSTAT."""
    stats = await redis.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval", "script"))

"""A script that Redis loses again between its reload and the retry (a second failover, another client's
SCRIPT FLUSH) is loaded and run again, a few times over, before the caller sees NOSCRIPT."""

from __future__ import annotations

from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from booking_core.holds.lua import LOAD_ATTEMPTS, RedisScripts
from booking_core.redis_keys import held_shows_key
from roles.redis_server import RedisEndpoint


class ForgetfulRedis(aioredis.Redis):
    """A client that has the server flush its scripts just before each EVALSHA it sends, `flushes` times."""

    flushes = 0

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        """Flush the server's scripts first if this is an EVALSHA and flushes are left, then send it."""
        if args[0] == "EVALSHA" and self.flushes > 0:
            self.flushes -= 1
            await super().execute_command("SCRIPT FLUSH")
        return await super().execute_command(*args, **options)


@pytest.mark.parametrize("lost", [2, 2 * LOAD_ATTEMPTS - 1])
async def test_a_script_lost_again_before_its_retry_still_runs(
    private_redis_endpoint: RedisEndpoint, lost: int
) -> None:
    # Given a server that loses the script before each of the next `lost` EVALSHAs (redis-py reloads
    # and retries once: each of our attempts meets up to two losses, and two were too many before)
    redis = ForgetfulRedis.from_url(private_redis_endpoint.url)
    redis.flushes = lost
    scripts = RedisScripts(redis)
    # When a script is called
    reply = await scripts.call("held_shows", [held_shows_key(1)], [1_000, 7, 2_000, 3])
    # Then it ran (the user's list of held shows has the show), and every loss was met
    assert reply == 1 and redis.flushes == 0
    await redis.aclose()


async def test_a_script_redis_keeps_losing_is_refused_with_noscript(
    private_redis_endpoint: RedisEndpoint,
) -> None:
    # Given a server that loses the script before every EVALSHA of every attempt, then is asked for it
    redis = ForgetfulRedis.from_url(private_redis_endpoint.url)
    redis.flushes = 2 * LOAD_ATTEMPTS
    scripts = RedisScripts(redis)
    # Then the caller is told NOSCRIPT
    with pytest.raises(NoScriptError):
        await scripts.call("held_shows", [held_shows_key(1)], [1_000, 7, 2_000, 3])
    await redis.aclose()

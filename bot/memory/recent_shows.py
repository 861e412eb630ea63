"""The shows whose waitlist a user recently worked with, in Redis, so /cancel knows which offers to decline.

Holds and offers are stored per show. The core lists the shows a user holds seats in
(`HoldStore.held_shows`), but not their waitlist offers: the waitlist's buttons note the show here (any
bot process can read it back), and entries lapse after a day.
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis

KEEP_SECONDS = 24 * 3600
MAX_SHOWS = 20
_KEY = "bot:recent-shows:{}"
# ARGV: show, now, MAX_SHOWS, KEEP_SECONDS. One command: a pipeline of three cost several times more.
_NOTE = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[3]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
"""


class RecentShows:
    """Per user: the shows touched lately, newest first."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def note(self, user_id: int, show_id: int) -> None:
        """Remember that the user just worked on `show_id`."""
        await self._redis.eval(_NOTE, 1, _KEY.format(user_id), show_id, time.time(), MAX_SHOWS, KEEP_SECONDS)

    async def shows(self, user_id: int) -> list[int]:
        """The shows the user worked on in the last day, newest first."""
        members = await self._redis.zrevrangebyscore(_KEY.format(user_id), "+inf", time.time() - KEEP_SECONDS)
        return [int(str(member)) for member in members]

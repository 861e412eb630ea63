"""Pacing messages to Telegram across every worker process, in Redis.

Telegram allows about one message per second per chat and about 30 per second overall
(REFERENCE.md); beyond that it answers 429. Every worker asks `wait_before_sending` first: it either
takes the chat's slot and a share of the current second's global allowance (0: send now) or says how
many milliseconds to wait, and the actor puts its message back on the queue for that long.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis


@dataclass(frozen=True)
class TelegramPace:
    """How fast messages may go: one per chat per `per_chat_interval_ms`, `global_per_second` overall."""

    per_chat_interval_ms: int = 1_000
    # Below Telegram's ~30/s, leaving room for the bot's own answers to users.
    global_per_second: int = 25


DEFAULT_PACE = TelegramPace()
# With Telegram's paid broadcast allowance (TELEGRAM_ALLOW_PAID_BROADCAST): up to 1,000 messages a
# second overall; each chat is still paced as before.
PAID_BROADCAST_PACE = TelegramPace(global_per_second=1_000)


async def wait_before_sending(
    redis: aioredis.Redis, chat_id: int, now_ms: int, pace: TelegramPace = DEFAULT_PACE
) -> int:
    """0 when a message to `chat_id` may go now (its slot is taken), else how many ms to wait first."""
    chat_key = f"telegram:pace:chat:{chat_id}"
    if not await redis.set(chat_key, 1, nx=True, px=pace.per_chat_interval_ms):
        return max(1, int(await redis.pttl(chat_key)))
    second = now_ms // 1000
    global_key = f"telegram:pace:second:{second}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(global_key)
        pipe.pexpire(global_key, 2_000)
        sent_this_second, _ = await pipe.execute()
    if int(sent_this_second) > pace.global_per_second:
        # Not sending after all: give the chat's slot back so its next try is not held up twice.
        await redis.delete(chat_key)
        return (second + 1) * 1000 - now_ms
    return 0

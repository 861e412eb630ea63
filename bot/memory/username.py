"""The bot's @username, kept in Redis by every bot process so the web role can link back to the chat."""

from __future__ import annotations

import re

import redis.asyncio as aioredis

USERNAME_KEY = "bot:username"
# Refreshed at every bot start; kept a month, so a web role still links while the bot restarts.
USERNAME_SECONDS = 30 * 24 * 3600
# Telegram's usernames: 5 to 32 of a-z, 0-9 and underscores.
_USERNAME = re.compile(r"[A-Za-z0-9_]{5,32}")


async def remember_username(redis: aioredis.Redis, username: str | None) -> None:
    """Record the bot's username (as getMe told it) for the other processes."""
    if username and _USERNAME.fullmatch(username):
        await redis.set(USERNAME_KEY, username, ex=USERNAME_SECONDS)


async def recorded_username(redis: aioredis.Redis) -> str | None:
    """The username a bot process recorded, or None when no bot has run (or it is not a username)."""
    value = await redis.get(USERNAME_KEY)
    text = value.decode() if isinstance(value, bytes) else value
    return text if isinstance(text, str) and _USERNAME.fullmatch(text) else None


def chat_link(username: str) -> str:
    """The t.me link that opens the chat with the bot."""
    return f"https://t.me/{username}"

"""Which chat message shows a user's place in a show's on-sale queue, kept in Redis so any process (a
worker's periodic pass) can refresh it, and a per-chat guard so a chat gets at most one such edit a minute.
When the turn comes (or the show sells out) the message is taken, to be edited into that news once.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

# A queue lasts hours at most; the record outlives it a little.
KEEP_SECONDS = 2 * 24 * 3600
# Telegram's own advice for bots: about one message a minute per chat is never a problem.
EDIT_EVERY_SECONDS = 60
_SHOWN = "bot:queue:{}:{}"
_EDITED = "bot:queue:edited:{}"


@dataclass(frozen=True)
class QueueMessage:
    """Where a user's queue place is shown."""

    chat_id: int
    message_id: int


class QueueMessages:
    """Remembers queue-place messages by (show, user) and rations their edits per chat."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def remember(self, show_id: int, user_id: int, shown: QueueMessage) -> None:
        """Note where the user's place in the show's queue is shown."""
        value = f"{shown.chat_id}:{shown.message_id}"
        await self._redis.set(_SHOWN.format(show_id, user_id), value, ex=KEEP_SECONDS)

    async def to_edit(self, show_id: int, user_id: int) -> QueueMessage | None:
        """The message to refresh now, if there is one and its chat had no such edit in the last minute."""
        value = await self._redis.get(_SHOWN.format(show_id, user_id))
        if value is None:
            return None
        shown = _parsed(value)
        if not await self._redis.set(_EDITED.format(shown.chat_id), "1", nx=True, ex=EDIT_EVERY_SECONDS):
            return None
        return shown

    async def take(self, show_id: int, user_id: int) -> QueueMessage | None:
        """The message showing the user's place, no longer to be refreshed (their turn came, or the show
        sold out: it is edited to point at that news). It takes its chat's minute: refreshes there wait."""
        value = await self._redis.getdel(_SHOWN.format(show_id, user_id))
        if value is None:
            return None
        shown = _parsed(value)
        await self._redis.set(_EDITED.format(shown.chat_id), "1", ex=EDIT_EVERY_SECONDS)
        return shown


def _parsed(value: bytes | str) -> QueueMessage:
    text = value.decode() if isinstance(value, bytes) else value
    chat_id, message_id = (int(part) for part in text.split(":"))
    return QueueMessage(chat_id, message_id)

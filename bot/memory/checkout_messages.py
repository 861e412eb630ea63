"""Which chat message shows a booking's checkout, kept in Redis so any process can close it later.

When a booking is paid, refunded or its hold lapses, its checkout message loses its Pay button:
nobody should pay for seats they no longer hold because an old button was still there.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

# Longer than any hold plus the time a late payment may take to arrive.
KEEP_SECONDS = 2 * 24 * 3600
_BY_BOOKING = "bot:checkout:booking:{}"
_BY_HOLD = "bot:checkout:hold:{}:{}"


@dataclass(frozen=True)
class CheckoutMessage:
    """A booking's checkout as shown in a chat."""

    booking_id: int
    show_id: int
    user_id: int
    chat_id: int
    message_id: int

    def encoded(self) -> str:
        """The record as stored."""
        return f"{self.booking_id}:{self.show_id}:{self.user_id}:{self.chat_id}:{self.message_id}"


class CheckoutMessages:
    """Remembers checkout messages by booking and by (show, user): the latest checkout of each."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def remember(self, shown: CheckoutMessage) -> None:
        """Note where a booking's checkout is shown."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(_BY_BOOKING.format(shown.booking_id), shown.encoded(), ex=KEEP_SECONDS)
            pipe.set(_BY_HOLD.format(shown.show_id, shown.user_id), shown.encoded(), ex=KEEP_SECONDS)
            await pipe.execute()

    async def take_by_booking(self, booking_id: int) -> CheckoutMessage | None:
        """The booking's checkout message, forgotten as it is returned (so one process closes it)."""
        shown = _parse(await self._redis.getdel(_BY_BOOKING.format(booking_id)))
        if shown is not None:
            by_hold = _BY_HOLD.format(shown.show_id, shown.user_id)
            # Only if it is still this booking's: a newer checkout of the same show keeps its entry.
            if await self._redis.get(by_hold) == shown.encoded():
                await self._redis.delete(by_hold)
        return shown

    async def take_by_hold(self, show_id: int, user_id: int) -> CheckoutMessage | None:
        """The checkout message of the user's latest booking for the show, forgotten as it is returned."""
        return _parse(await self._redis.getdel(_BY_HOLD.format(show_id, user_id)))


def _parse(value: bytes | str | None) -> CheckoutMessage | None:
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    booking_id, show_id, user_id, chat_id, message_id = (int(part) for part in text.split(":"))
    return CheckoutMessage(booking_id, show_id, user_id, chat_id, message_id)

"""Hold reminders ("your seats are released in a minute"): one per hold, shortly before it lapses.

Reminders wait in a Redis sorted set scored by when they are due, so they survive a restart and any
bot process may send them: ZREM decides which process took a due reminder. A reminder whose hold has
gone meanwhile (paid, released, replaced by another selection) is dropped when it falls due.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

from booking_core.holds.store import Hold, HoldStore

log = logging.getLogger(__name__)

DUE_KEY = "bot:hold-reminders"
LEAD_SECONDS = 60
POLL_SECONDS = 1.0
BATCH = 100


@dataclass(frozen=True)
class DueReminder:
    """A hold to remind its holder of."""

    show_id: int
    user_id: int
    token: str


class HoldReminders:
    """Schedules and hands out hold-expiry reminders."""

    def __init__(
        self,
        redis: aioredis.Redis,
        holds: HoldStore,
        *,
        lead_seconds: int = LEAD_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._holds = holds
        self._lead_ms = lead_seconds * 1000
        self._clock = clock

    async def schedule(self, hold: Hold) -> None:
        """Remind the holder `lead_seconds` before `hold` lapses (not at all for a hold shorter than that)."""
        remind_ms = int(hold.expires_at.timestamp() * 1000) - self._lead_ms
        if remind_ms <= self._clock() * 1000:
            return
        await self._redis.zadd(DUE_KEY, {f"{hold.show_id}:{hold.user_id}:{hold.token}": remind_ms})

    async def take_due(self) -> list[tuple[DueReminder, Hold]]:
        """Due reminders this process won, each with its hold if that is still live."""
        now_ms = int(self._clock() * 1000)
        members = await self._redis.zrangebyscore(DUE_KEY, "-inf", now_ms, start=0, num=BATCH)
        taken: list[tuple[DueReminder, Hold]] = []
        for member in map(str, members):
            if not await self._redis.zrem(DUE_KEY, member):
                continue  # another process took it
            show_id, user_id, token = member.split(":", 2)
            reminder = DueReminder(int(show_id), int(user_id), token)
            hold = await self._holds.hold_by_token(reminder.show_id, reminder.token)
            if hold is not None and hold.user_id == reminder.user_id:
                taken.append((reminder, hold))
        return taken

    async def run(
        self, remind: Callable[[Hold], Awaitable[None]], poll_seconds: float = POLL_SECONDS
    ) -> None:
        """Send due reminders through `remind` until cancelled."""
        while True:
            try:
                for _reminder, hold in await self.take_due():
                    await remind(hold)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("hold reminders: a round failed; trying again")
            await asyncio.sleep(poll_seconds)

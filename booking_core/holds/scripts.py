"""Runs one show's Lua scripts, feeding them the show's inventory from SQL when Redis has lost it.

Every per-show script first checks that the show's hall seats, start time and sold seats are in Redis.
When they are not it answers "need" with the current sold_gen; we then read the inventory from the
`InventorySource` and call the same script again with it. The script loads what is missing (the sold
set only if sold_gen has not moved since, so a rebuild that read SQL before a concurrent sale commit
is refused) and carries on: a missing cache costs one extra round trip, never a stale sold set.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis

from booking_core.events import Event, HoldExpired, OfferExpired
from booking_core.holds.errors import InventoryUnavailable
from booking_core.holds.lua import RedisScripts
from booking_core.holds.types import InventorySource, to_ms
from booking_core.redis_keys import ShowKeys

# Three tries: the first may find the cache missing, the second loads it; a third covers a concurrent
# sale that refused our load of the sold set.
LOAD_ATTEMPTS = 3
# How long a show's cached inventory outlives its start; an unknown show is remembered briefly.
INVENTORY_AFTER_START = timedelta(days=1)
UNKNOWN_SHOW_MS = 60_000


class ShowScripts:
    """Per-show script calls with transparent inventory loading; the clock is injectable for tests."""

    def __init__(self, redis: aioredis.Redis, inventory: InventorySource, clock: Callable[[], float]) -> None:
        self.redis = redis
        self.scripts = RedisScripts(redis)
        self.inventory = inventory
        self.clock = clock
        # One SQL read per show and sold_gen at a time, however many calls found the cache missing.
        self._loading: dict[tuple[int, str], asyncio.Task[str]] = {}

    def now_ms(self) -> int:
        """The injected clock in integer ms."""
        return int(self.clock() * 1000)

    async def run(
        self,
        name: str,
        show_id: int,
        args: Sequence[str | int],
        *,
        now_ms: int,
        extra_keys: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Run per-show script `name` with ARGV = [inventory, now_ms, *args]; returns its JSON reply."""
        keys = [*ShowKeys(show_id).standard(), *extra_keys]
        payload = ""
        for _attempt in range(LOAD_ATTEMPTS):
            reply = await self.scripts.run(name, keys, [payload, now_ms, *args])
            if "need" not in reply:
                return reply
            payload = await self._load(show_id, str(reply["need"]), now_ms)
        raise InventoryUnavailable(f"show {show_id}: inventory could not be loaded into Redis")

    async def run_many(
        self, name: str, calls: Sequence[tuple[int, Sequence[str | int]]], *, now_ms: int
    ) -> list[dict[str, Any]]:
        """`run` for several (show_id, args) in one round trip; their JSON replies, in order. A show whose
        inventory Redis has lost is run again on its own, which loads it."""
        raw = await self.scripts.call_many(
            name, [(ShowKeys(show_id).standard(), ["", now_ms, *args]) for show_id, args in calls]
        )
        replies = []
        for (show_id, args), reply in zip(calls, map(json.loads, raw), strict=True):
            replies.append(await self.run(name, show_id, args, now_ms=now_ms) if "need" in reply else reply)
        return replies

    async def _load(self, show_id: int, gen: str, now_ms: int) -> str:
        key = (show_id, gen)
        task = self._loading.get(key)
        if task is None:
            task = asyncio.ensure_future(self._payload(show_id, gen, now_ms))
            self._loading[key] = task
            task.add_done_callback(lambda _task: self._loading.pop(key, None))
        return await asyncio.shield(task)

    async def _payload(self, show_id: int, gen: str, now_ms: int) -> str:
        """The show's inventory as the JSON `load_inventory` in _lib.lua reads."""
        inventory = await self.inventory.inventory(show_id)
        if inventory is None:
            starts_ms, on_sale, seats, sold = 0, False, [], []
            on_sale_ms, queued = 0, False
            expire_at = now_ms + UNKNOWN_SHOW_MS
        else:
            starts_ms = to_ms(inventory.starts_at)
            on_sale = inventory.on_sale
            on_sale_ms = to_ms(inventory.on_sale_at) if inventory.on_sale_at else 0
            queued = inventory.sale_queue
            seats = sorted(inventory.seat_ids)
            sold = sorted(inventory.sold_seat_ids)
            expire_at = max(starts_ms, now_ms) + int(INVENTORY_AFTER_START.total_seconds() * 1000)
        return json.dumps(
            {
                "starts_ms": str(starts_ms),
                "on_sale": "1" if on_sale else "0",
                "on_sale_ms": str(on_sale_ms),
                "queued": "1" if queued else "0",
                "seats": [str(seat) for seat in seats],
                "sold": [str(seat) for seat in sold],
                "gen": gen,
                "expire_at": str(expire_at),
            }
        )


def as_list(value: Any) -> list[Any]:
    """A JSON array from Lua: cjson encodes an empty table as {}."""
    return value if isinstance(value, list) else []


def expiry_events(show_id: int, expired: Any) -> list[Event]:
    """Events for the holds a script retired as expired ([user, offered, seats] each)."""
    events: list[Event] = []
    for user, offered, seats in as_list(expired):
        seat_ids = tuple(sorted(int(seat) for seat in as_list(seats)))
        if int(offered) > 0:
            events.append(OfferExpired(show_id=show_id, user_id=int(user), seat_ids=seat_ids))
        else:
            events.append(HoldExpired(show_id=show_id, user_id=int(user), seat_ids=seat_ids))
    return events

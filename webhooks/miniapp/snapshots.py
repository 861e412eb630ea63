"""The seat maps pages poll, shared: each show's map is read from Redis at most a few times a second per
web process, however many pages are open on it, and each page's own hold is laid over it.

A page polls twice a second to stay live; with 200 pages open on one show that would be 400 full seat
map reads a second. Instead every poll of a show within FRESH_SECONDS shares one anonymous read, plus
one small lookup of the asking user's own hold, so a change reaches every page within FRESH_SECONDS and
a poll interval. A change made through this process (a tap, a release) drops the shared copy at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

from booking_core.holds import HoldStore
from booking_core.seat_map import SeatMap, SeatState

FRESH_SECONDS = 0.25
# Past this many shows kept, the stale ones are dropped.
MAX_SHOWS = 1024


class SeatMapSnapshots:
    """Shows' seat maps as anyone sees them, re-read when older than `fresh_seconds`."""

    def __init__(
        self,
        holds: HoldStore,
        *,
        fresh_seconds: float = FRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._holds = holds
        self._fresh = fresh_seconds
        self._clock = clock
        self._maps: dict[int, tuple[float, asyncio.Future[SeatMap]]] = {}

    async def seat_map(self, show_id: int, user_id: int) -> SeatMap:
        """The show's map as `user_id` sees it: the shared map with their own hold (or offer) on it."""
        shared, hold = await asyncio.gather(self._shared(show_id), self._holds.current_hold(show_id, user_id))
        if hold is None:
            return shared
        states = dict(shared.states)
        states.update(dict.fromkeys(hold.seat_ids, SeatState.YOURS))
        return replace(shared, states=states, your_hold=hold)

    def forget(self, show_id: int) -> None:
        """Drop the show's shared map (this process just changed it)."""
        self._maps.pop(show_id, None)

    async def _shared(self, show_id: int) -> SeatMap:
        now = self._clock()
        kept = self._maps.get(show_id)
        if kept is None or kept[0] <= now:
            if len(self._maps) > MAX_SHOWS:
                self._maps = {show: kept for show, kept in self._maps.items() if kept[0] > now}
            kept = (now + self._fresh, asyncio.ensure_future(self._holds.seat_map(show_id, None)))
            self._maps[show_id] = kept
        try:
            return await asyncio.shield(kept[1])
        except Exception:
            if self._maps.get(show_id) is kept:
                del self._maps[show_id]
            raise

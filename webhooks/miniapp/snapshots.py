"""The seat maps pages poll, shared: each show's map is read from Redis at most a few times a second per
web process, however many pages are open on it, and each page's own hold is laid over it.

A page polls twice a second to stay live; with 200 pages open on one show that would be 400 full seat
map reads a second. Instead every poll of a show within FRESH_SECONDS shares one anonymous read, plus
one small lookup of the asking user's own hold, so a change reaches every page within FRESH_SECONDS and
a poll interval. A change made through this process (a tap, a release) drops the shared copy at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from booking_core.holds.seat_map import SeatMap, SeatState
from booking_core.holds.store import HoldStore
from bot.seat_map.shared_reads import SharedReads

FRESH_SECONDS = 0.25


class SeatMapSnapshots:
    """Shows' seat maps as anyone sees them, re-read when older than `fresh_seconds`."""

    def __init__(self, holds: HoldStore, *, fresh_seconds: float = FRESH_SECONDS) -> None:
        self._holds = holds
        self._maps: SharedReads[SeatMap] = SharedReads(fresh_seconds)

    async def seat_map(self, show_id: int, user_id: int) -> SeatMap:
        """The show's map as `user_id` sees it: the shared map with their own hold (or offer) on it."""
        shared, hold = await asyncio.gather(
            self._maps.get(show_id, lambda: self._holds.seat_map(show_id, None)),
            self._holds.current_hold(show_id, user_id),
        )
        if hold is None:
            return shared
        states = dict(shared.states)
        states.update(dict.fromkeys(hold.seat_ids, SeatState.YOURS))
        return replace(shared, states=states, your_hold=hold)

    def forget(self, show_id: int) -> None:
        """Drop the show's shared map (this process just changed it)."""
        self._maps.forget(show_id)

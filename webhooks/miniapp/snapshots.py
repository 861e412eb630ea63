"""The seat maps pages poll, shared: each show's map is read from Redis at most a few times a second per
web process, however many pages are open on it, and each page's own hold is laid over it.

A page polls every few seconds beside its event stream (pushes.py), and twice a second without one;
with 200 pages open on one show that could be 400 full seat map reads a second. Instead every poll of a
show within FRESH_SECONDS shares one anonymous read (named once, `NamedStates`), plus one small lookup
of the asking user's own hold, so a change reaches every page within FRESH_SECONDS and a poll interval.
Taps do not drop the shared read: the asker's own seats come from their fresh hold
(show_state.live_state), so only other people's changes wait for the next read.
"""

from __future__ import annotations

import asyncio

from booking_core.holds.store import HoldStore
from booking_core.holds.types import Hold
from bot.seat_map.shared_reads import SharedReads
from webhooks.miniapp.show_state import NamedStates, ShowHall

FRESH_SECONDS = 0.25


class SeatMapSnapshots:
    """Shows' seat maps as anyone sees them, re-read when older than `fresh_seconds`."""

    def __init__(self, holds: HoldStore, *, fresh_seconds: float = FRESH_SECONDS) -> None:
        self._holds = holds
        self._maps: SharedReads[NamedStates] = SharedReads(fresh_seconds)

    async def seat_map(self, hall: ShowHall, user_id: int) -> tuple[NamedStates, Hold | None]:
        """The show's shared map, and the user's own live hold (or offer) read now."""

        async def read() -> NamedStates:
            return NamedStates.of(hall, await self._holds.seat_map(hall.details.show_id, None))

        return await asyncio.gather(
            self._maps.get(hall.details.show_id, read),
            self._holds.current_hold(hall.details.show_id, user_id),
        )

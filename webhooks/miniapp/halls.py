"""Shows' halls for the Mini App, kept in the web process for a few seconds.

Every tap needs the show and its hall (to name seats and price them); they change only when the
catalogue is edited, so one read from the catalogue serves the taps of the next seconds, and the
hall's part of the answer is built once for all of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from booking_core.catalogue.queries import CatalogueQueries
from webhooks.miniapp.show_state import ShowHall

KEEP_SECONDS = 5.0
# Past this many shows kept, the expired ones are dropped.
MAX_SHOWS = 1024


class HallCache:
    """The halls of shows, read once per KEEP_SECONDS per show; None for an unknown show or empty hall."""

    def __init__(
        self,
        catalogue: CatalogueQueries,
        *,
        keep_seconds: float = KEEP_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._catalogue = catalogue
        self._keep = keep_seconds
        self._clock = clock
        self._halls: dict[int, tuple[float, asyncio.Future[ShowHall | None]]] = {}

    async def hall(self, show_id: int) -> ShowHall | None:
        """The show with its hall; concurrent first requests share one read."""
        now = self._clock()
        kept = self._halls.get(show_id)
        if kept is not None and kept[0] > now:
            return await asyncio.shield(kept[1])
        if len(self._halls) > MAX_SHOWS:
            self._halls = {show: kept for show, kept in self._halls.items() if kept[0] > now}
        reading = asyncio.ensure_future(self._read(show_id))
        self._halls[show_id] = (now + self._keep, reading)
        try:
            return await asyncio.shield(reading)
        except Exception:
            self._halls.pop(show_id, None)
            raise

    async def _read(self, show_id: int) -> ShowHall | None:
        details = await self._catalogue.show_details(show_id)
        layout = await self._catalogue.hall_layout(show_id) if details is not None else None
        if details is None or layout is None or layout.seat_count == 0:
            return None
        return ShowHall(details, layout)

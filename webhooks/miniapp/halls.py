"""Shows' halls for the Mini App, kept in the web process for a few seconds.

Every tap needs the show and its hall (to name seats and price them); they change only when the
catalogue is edited, so one read from the catalogue serves the taps of the next seconds, and the
hall's part of the answer is built once for all of them.
"""

from __future__ import annotations

from booking_core.catalogue.queries import CatalogueQueries
from webhooks.miniapp.shared_reads import SharedReads
from webhooks.miniapp.show_state import ShowHall

KEEP_SECONDS = 5.0


class HallCache:
    """The halls of shows, read once per KEEP_SECONDS per show."""

    def __init__(self, catalogue: CatalogueQueries, *, keep_seconds: float = KEEP_SECONDS) -> None:
        self._catalogue = catalogue
        self._halls: SharedReads[ShowHall | None] = SharedReads(keep_seconds)

    async def hall(self, show_id: int) -> ShowHall | None:
        """The show with its hall; None for an unknown show or an empty hall."""
        return await self._halls.get(show_id, lambda: self._read(show_id))

    async def _read(self, show_id: int) -> ShowHall | None:
        details = await self._catalogue.show_details(show_id)
        layout = await self._catalogue.hall_layout(show_id) if details is not None else None
        if details is None or layout is None or layout.seat_count == 0:
            return None
        return ShowHall(details, layout)

"""Shows' halls kept in the process for a few seconds, for the seat-map keyboard and the Mini App alike.

Every tap needs the show and its hall (to name, price and draw seats); they change only when the
catalogue is edited, so one read from the catalogue (two Redis reads and their JSON) serves the taps of
the next KEEP_SECONDS, however many people tap the show; a catalogue edit shows within that time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from booking_core.catalogue.queries import CatalogueQueries
from booking_core.catalogue.views import ShowDetails
from booking_core.hall_layout import HallLayout
from bot.seat_map.shared_reads import SharedReads

KEEP_SECONDS = 5.0

H = TypeVar("H")


class HallCache(Generic[H]):
    """The halls of shows as `build(details, layout)` makes them, read once per `keep_seconds` per show."""

    def __init__(
        self,
        catalogue: CatalogueQueries,
        build: Callable[[ShowDetails, HallLayout], H],
        *,
        keep_seconds: float = KEEP_SECONDS,
    ) -> None:
        self._catalogue = catalogue
        self._build = build
        self._halls: SharedReads[H | None] = SharedReads(keep_seconds)

    async def hall(self, show_id: int) -> H | None:
        """The show with its hall; None for an unknown show or an empty hall."""
        return await self._halls.get(show_id, lambda: self._read(show_id))

    async def _read(self, show_id: int) -> H | None:
        details = await self._catalogue.show_details(show_id)
        layout = await self._catalogue.hall_layout(show_id) if details is not None else None
        if details is None or layout is None or layout.seat_count == 0:
            return None
        return self._build(details, layout)

"""Shows' halls kept in the process for a few seconds, for the seat-map keyboard and the Mini App alike.

Every tap needs the show and its hall (to name, price and draw seats); they change only when the
catalogue is edited, so one read from the catalogue (two Redis reads and their JSON) serves the taps of
the next KEEP_SECONDS, however many people tap the show; a catalogue edit shows within that time.
A read that finds the show and hall unchanged (the catalogue answers the same objects while its cached
listings stay: booking_core/catalogue/listing_cache.py) keeps the hall built before, with what it
worked out (its blocks and their buttons).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from booking_core.catalogue.queries import CatalogueQueries
from booking_core.catalogue.views import ShowDetails
from booking_core.hall_layout import HallLayout
from bot.seat_map.shared_reads import SharedReads

KEEP_SECONDS = 5.0
# Past this many shows' halls kept, they are all dropped and built anew.
MAX_BUILT = 1024

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
        # The hall last built for each show, with the show and layout it was built from.
        self._built: dict[int, tuple[ShowDetails, HallLayout, H]] = {}

    async def hall(self, show_id: int) -> H | None:
        """The show with its hall; None for an unknown show or an empty hall."""
        return await self._halls.get(show_id, lambda: self._read(show_id))

    async def _read(self, show_id: int) -> H | None:
        details = await self._catalogue.show_details(show_id)
        layout = await self._catalogue.hall_layout(show_id) if details is not None else None
        if details is None or layout is None or layout.seat_count == 0:
            self._built.pop(show_id, None)
            return None
        built = self._built.get(show_id)
        if built is not None and built[0] is details and built[1] is layout:
            return built[2]
        if len(self._built) >= MAX_BUILT:
            self._built.clear()
        hall = self._build(details, layout)
        self._built[show_id] = (details, layout, hall)
        return hall

"""Which shows belong to a connected cinema, and what their seats are called there (DESIGN.md section 10).

A theatre's ids are unique only within that theatre, so rows synced from it are stored as
"<system>:<id>" (Show.external_id, Movie.external_id); `theatre_id` gives the theatre's own id back.
Seats are named on the wire by row label and number ("F12").

`ConnectedShows` reads a show's cinema and seats from SQL once and keeps the answer in process memory
for a minute: a show never changes cinema, and a hall gains seats only through a schedule sync (which
drops the syncing process's copy; other processes catch up within the minute). Shows of local cinemas
are remembered too, so a local hold pays one dictionary lookup for the question.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select

from booking_core.database import SessionFactory
from booking_core.models import Cinema, Hall, Seat, Show
from booking_core.theatre.port import LOCAL_SYSTEM, seat_label

CACHE_SECONDS = 60.0
CACHE_SIZE = 4096


def stored_id(system: str, theatre_id: str) -> str:
    """How a theatre's id is stored in our catalogue: "<system>:<id>"."""
    return f"{system}:{theatre_id}"


def theatre_id(system: str, external_id: str) -> str:
    """The theatre's own id of a row stored as "<system>:<id>" (an unprefixed id is returned as it is)."""
    return external_id.removeprefix(f"{system}:")


@dataclass(frozen=True)
class ConnectedShow:
    """A show sold through a connected cinema's own system, with its seats by our id and by label."""

    show_id: int
    system: str
    theatre_show_id: str
    labels: Mapping[int, str]  # our seat id -> the theatre's label, e.g. "F12"
    seat_ids: Mapping[str, int]  # the theatre's label -> our seat id

    def labels_of(self, seat_ids: Iterable[int]) -> tuple[str, ...] | None:
        """The labels of these seats in order; None if any is not a seat of the hall as we know it."""
        labels = [self.labels.get(seat) for seat in seat_ids]
        return None if any(label is None for label in labels) else tuple(label for label in labels if label)

    def ids_of(self, labels: Iterable[str]) -> tuple[int, ...]:
        """Our ids of the seats with these labels, sorted (labels we do not know are left out)."""
        return tuple(sorted(self.seat_ids[label] for label in labels if label in self.seat_ids))


class ConnectedShows:
    """Looks up whether a show is a connected cinema's, with a short in-process cache."""

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._known: dict[int, tuple[float, ConnectedShow | None]] = {}

    async def get(self, show_id: int) -> ConnectedShow | None:
        """The show as its theatre knows it; None for a local cinema's show or an unknown show."""
        now = self._clock()
        cached = self._known.get(show_id)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        show = await self._load(show_id)
        if len(self._known) >= CACHE_SIZE:
            self._known.pop(next(iter(self._known)))
        self._known[show_id] = (now, show)
        return show

    def forget(self) -> None:
        """Drop every remembered show (after a sync changed the catalogue)."""
        self._known.clear()

    async def _load(self, show_id: int) -> ConnectedShow | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Show.external_id, Show.hall_id, Cinema.system)
                    .join(Hall, Hall.id == Show.hall_id)
                    .join(Cinema, Cinema.id == Hall.cinema_id)
                    .where(Show.id == show_id)
                )
            ).one_or_none()
            if row is None or row.system == LOCAL_SYSTEM:
                return None
            seats = await session.execute(
                select(Seat.id, Seat.row_label, Seat.number).where(Seat.hall_id == row.hall_id)
            )
            labels = {seat_id: seat_label(row_label, number) for seat_id, row_label, number in seats}
        return ConnectedShow(
            show_id=show_id,
            system=row.system,
            theatre_show_id=theatre_id(row.system, row.external_id),
            labels=labels,
            seat_ids={label: seat_id for seat_id, label in labels.items()},
        )

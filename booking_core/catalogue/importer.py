"""Import a validated catalogue in one transaction: all of it, or nothing.

Rows are matched by their keys (city name, cinema system and id, hall id or else name in its cinema, seat row
and number, movie id, show id) and only changed columns are written, so importing the same file
twice changes nothing. Seats keep their ids across layout changes, because holds and bookings refer
to them. The file is the whole schedule of the cinemas it lists: their upcoming shows that it no
longer lists are withdrawn (taken off sale, kept for the bookings that reference them). In the same
transaction the bookings of withdrawn and moved local shows are settled and their customers told
(booking_core.show_changes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from booking_core.catalogue.errors import InvalidCatalogue, RowProblem
from booking_core.catalogue.file_format import Catalogue, HallSpec, ShowSpec
from booking_core.database import SessionFactory
from booking_core.models import (
    BookedSeat,
    Booking,
    BookingLine,
    Cinema,
    City,
    Hall,
    Movie,
    Seat,
    Show,
    ShowPrice,
    utc_now,
)
from booking_core.show_changes import ShowChangesSettled, settle_show_changes

# Keeps each IN (...) list well inside every backend's bound-parameter limit.
_CHUNK = 500


class CatalogueCache(Protocol):
    """Anything holding catalogue listings that an import must make stale."""

    async def invalidate(self) -> None:
        """Forget every cached listing."""


@dataclass(frozen=True)
class ImportReport:
    """What an import changed, counted per kind of row ("cities", "seats", "prices", ...)."""

    created: Mapping[str, int] = field(default_factory=dict)
    updated: Mapping[str, int] = field(default_factory=dict)
    removed: Mapping[str, int] = field(default_factory=dict)
    withdrawn_show_ids: tuple[int, ...] = ()
    moved_show_ids: tuple[int, ...] = ()
    # Shows whose on-sale time or queue changed: their cached inventory in Redis must be read again.
    sale_changed_show_ids: tuple[int, ...] = ()
    bookings: ShowChangesSettled = field(default_factory=ShowChangesSettled)

    @property
    def changed(self) -> bool:
        """True when the import wrote anything at all."""
        return bool(self.created or self.updated or self.removed or self.withdrawn_show_ids)

    def summary(self) -> str:
        """One line for a person: what was created, updated, removed and withdrawn."""
        parts = [
            f"{verb} {', '.join(f'{count} {kind}' for kind, count in counts.items())}"
            for verb, counts in (
                ("created", self.created),
                ("updated", self.updated),
                ("removed", self.removed),
            )
            if counts
        ]
        if self.withdrawn_show_ids:
            parts.append(f"withdrew {len(self.withdrawn_show_ids)} shows")
        if self.moved_show_ids:
            parts.append(f"moved {len(self.moved_show_ids)} shows")
        settled = self.bookings
        if settled.refunded or settled.cancelled_unpaid or settled.told_of_move:
            parts.append(
                f"bookings: {settled.refunded} cancelled and refunded, {settled.cancelled_unpaid} unpaid "
                f"cancelled, {settled.told_of_move} told of a new time"
            )
        return "; ".join(parts) if parts else "nothing changed"


async def import_catalogue(
    sessions: SessionFactory,
    catalogue: Catalogue,
    *,
    cache: CatalogueCache | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Upsert the whole catalogue in one transaction; InvalidCatalogue (and no change) if it cannot apply."""
    try:
        async with sessions() as session, session.begin():
            report = await _Import(session, now or utc_now()).apply(catalogue)
    except IntegrityError as error:
        problem = RowProblem("file", f"conflicts with the database: {error.orig}")
        raise InvalidCatalogue([problem]) from error
    if cache is not None and report.changed:
        await cache.invalidate()
    return report


def _assign(row: Any, values: Mapping[str, Any]) -> bool:
    """Set the columns that differ; True if any did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class _Import:
    """One import run inside one transaction."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self.session = session
        self.now = now
        self.created: Counter[str] = Counter()
        self.updated: Counter[str] = Counter()
        self.removed: Counter[str] = Counter()
        self.problems: list[RowProblem] = []
        self.moved_from: dict[int, datetime] = {}  # show id -> its start before this import
        self.sale_changed: list[int] = []

    async def apply(self, catalogue: Catalogue) -> ImportReport:
        # Flushes hand out the ids that the next kind of row refers to.
        cities = await self._cities(catalogue)
        await self.session.flush()
        cinemas = await self._cinemas(catalogue, cities)
        movies = await self._movies(catalogue)
        await self.session.flush()
        halls = await self._halls(catalogue, cinemas)
        await self.session.flush()
        await self._shows(catalogue, halls, movies)
        withdrawn = await self._withdraw(catalogue, cinemas)
        if self.problems:
            raise InvalidCatalogue(self.problems)
        await self.session.flush()
        bookings = await settle_show_changes(self.session, withdrawn, self.moved_from, self.now)
        return ImportReport(
            created=dict(self.created),
            updated=dict(self.updated),
            removed=dict(self.removed),
            withdrawn_show_ids=withdrawn,
            moved_show_ids=tuple(sorted(self.moved_from)),
            sale_changed_show_ids=tuple(sorted(self.sale_changed)),
            bookings=bookings,
        )

    def _upsert(self, kind: str, existing: Any, values: Mapping[str, Any], make: Any) -> Any:
        if existing is None:
            row = make(**values)
            self.session.add(row)
            self.created[kind] += 1
            return row
        if _assign(existing, values):
            self.updated[kind] += 1
        return existing

    async def _cities(self, catalogue: Catalogue) -> dict[str, City]:
        names = [spec.name for spec in catalogue.cities]
        found = {
            city.name: city for city in await self.session.scalars(select(City).where(City.name.in_(names)))
        }
        return {
            spec.name: self._upsert("cities", found.get(spec.name), spec.model_dump(), City)
            for spec in catalogue.cities
        }

    async def _cinemas(self, catalogue: Catalogue, cities: dict[str, City]) -> dict[str, Cinema]:
        ids = [spec.id for spec in catalogue.cinemas]
        query = select(Cinema).where(Cinema.external_id.in_(ids))
        found = {(cinema.system, cinema.external_id): cinema for cinema in await self.session.scalars(query)}
        cinemas: dict[str, Cinema] = {}
        for spec in catalogue.cinemas:
            values = spec.model_dump(exclude={"id", "city"}) | {
                "external_id": spec.id,
                "city_id": cities[spec.city].id,
            }
            existing = found.get((spec.system, spec.id))
            cinemas[spec.id] = self._upsert("cinemas", existing, values, Cinema)
        return cinemas

    async def _movies(self, catalogue: Catalogue) -> dict[str, Movie]:
        ids = [spec.id for spec in catalogue.movies]
        found = {
            m.external_id: m
            for m in await self.session.scalars(select(Movie).where(Movie.external_id.in_(ids)))
        }
        return {
            spec.id: self._upsert(
                "movies",
                found.get(spec.id),
                spec.model_dump(exclude={"id"}) | {"external_id": spec.id},
                Movie,
            )
            for spec in catalogue.movies
        }

    async def _halls(self, catalogue: Catalogue, cinemas: dict[str, Cinema]) -> dict[tuple[str, str], Hall]:
        cinema_ids = [cinema.id for cinema in cinemas.values()]
        query = select(Hall).where(Hall.cinema_id.in_(cinema_ids)).options(selectinload(Hall.seats))
        existing = list(await self.session.scalars(query))
        by_id = {(hall.cinema_id, hall.external_id): hall for hall in existing if hall.external_id}
        by_name = {(hall.cinema_id, hall.name): hall for hall in existing}
        halls: dict[tuple[str, str], Hall] = {}
        for index, spec in enumerate(catalogue.halls):
            cinema = cinemas[spec.cinema]
            # By id first: a hall the file renames keeps its seats, shows and bookings.
            hall = by_id.get((cinema.id, spec.id)) if spec.id else None
            if hall is None:
                named = by_name.get((cinema.id, spec.name))
                hall = named if named is not None and named.external_id in (None, spec.id) else None
            values = {"cinema_id": cinema.id, "name": spec.name, "external_id": spec.id}
            hall = self._upsert("halls", hall, values, lambda **values: Hall(**values, seats=[]))
            await self._sync_seats(index, spec, hall)
            halls[(spec.cinema, spec.name)] = hall
        return halls

    async def _sync_seats(self, index: int, spec: HallSpec, hall: Hall) -> None:
        """Upsert seats by (row, number), so seat ids that holds and bookings use survive a new layout."""
        existing = {(seat.row_label, seat.number): seat for seat in hall.seats}
        wanted = set()
        for place in spec.seat_places():
            key = (place.row_label, place.number)
            wanted.add(key)
            values = {"row_index": place.row_index, "column": place.column, "category": place.category}
            seat = existing.get(key)
            if seat is None:
                hall.seats.append(Seat(row_label=place.row_label, number=place.number, **values))
                self.created["seats"] += 1
            elif _assign(seat, values):
                self.updated["seats"] += 1
        gone = [seat for key, seat in existing.items() if key not in wanted]
        if not gone:
            return
        sold = await self._seats_in_use([seat.id for seat in gone])
        if sold:
            labels = ", ".join(seat.label for seat in gone if seat.id in sold)
            message = f"seats {labels} of hall {spec.name!r} have bookings and cannot be removed"
            self.problems.append(RowProblem(f"halls[{index}]", message))
            return
        for seat in gone:
            await self.session.delete(seat)
            self.removed["seats"] += 1

    async def _seats_in_use(self, seat_ids: list[int]) -> set[int]:
        used: set[int] = set()
        for chunk in _chunks(seat_ids):
            query = union(
                select(BookedSeat.seat_id).where(BookedSeat.seat_id.in_(chunk)),
                select(BookingLine.seat_id).where(BookingLine.seat_id.in_(chunk)),
            )
            used.update((await self.session.execute(query)).scalars())
        return used

    async def _shows(
        self, catalogue: Catalogue, halls: dict[tuple[str, str], Hall], movies: dict[str, Movie]
    ) -> None:
        listed = {spec.id for spec in catalogue.shows}
        found = await self._existing_shows(list(listed))
        taken = await self._taken_slots(catalogue, halls)
        booked = await self._shows_with_bookings([show.id for show in found.values()])
        for index, spec in enumerate(catalogue.shows):
            hall = halls[(spec.cinema, spec.hall)]
            show = found.get(spec.id)
            other = taken.get((hall.id, spec.starts_at))
            if other is not None and other not in listed:
                message = f"hall {spec.hall!r} already has show {other!r} at {spec.starts_at.isoformat()}"
                self.problems.append(
                    RowProblem(f"shows[{index}]", message + ", which this file does not list")
                )
                continue
            if show is not None and show.hall_id != hall.id and show.id in booked:
                message = f"show {spec.id!r} has bookings and cannot move to hall {spec.hall!r}"
                self.problems.append(RowProblem(f"shows[{index}]", message))
                continue
            self._upsert_show(spec, show, hall, movies[spec.movie])

    def _upsert_show(self, spec: ShowSpec, show: Show | None, hall: Hall, movie: Movie) -> None:
        values = {
            "external_id": spec.id,
            "movie_id": movie.id,
            "hall_id": hall.id,
            "starts_at": spec.starts_at,
            "currency": spec.currency,
            "on_sale": True,
            "on_sale_at": spec.on_sale_at,
            "sale_queue": spec.queue,
        }
        if show is not None and (show.on_sale_at, show.sale_queue) != (spec.on_sale_at, spec.queue):
            self.sale_changed.append(show.id)
        if show is None:
            show = Show(**values, prices=[])
            self.session.add(show)
            self.created["shows"] += 1
        elif show.starts_at != spec.starts_at and show.starts_at > self.now:
            self.moved_from[show.id] = show.starts_at
            _assign(show, values)
            self.updated["shows"] += 1
        elif _assign(show, values):
            self.updated["shows"] += 1
        prices = {price.category: price for price in show.prices}
        for category, amount in spec.prices.items():
            price = prices.get(category)
            if price is None:
                show.prices.append(ShowPrice(category=category, amount_minor=amount))
                self.created["prices"] += 1
            elif _assign(price, {"amount_minor": amount}):
                self.updated["prices"] += 1
        for category, price in prices.items():
            if category not in spec.prices:
                show.prices.remove(price)  # delete-orphan removes the row
                self.removed["prices"] += 1

    async def _existing_shows(self, ids: list[str]) -> dict[str, Show]:
        found: dict[str, Show] = {}
        for chunk in _chunks(ids):
            query = select(Show).where(Show.external_id.in_(chunk)).options(selectinload(Show.prices))
            found.update((show.external_id, show) for show in await self.session.scalars(query))
        return found

    async def _taken_slots(
        self, catalogue: Catalogue, halls: dict[tuple[str, str], Hall]
    ) -> dict[tuple[int, datetime], str]:
        """Show ids by (hall, start) around the file's shows: UNIQUE (hall, starts_at) must still hold."""
        if not catalogue.shows:
            return {}
        starts = [spec.starts_at for spec in catalogue.shows]
        hall_ids = list({halls[(spec.cinema, spec.hall)].id for spec in catalogue.shows})
        taken: dict[tuple[int, datetime], str] = {}
        for chunk in _chunks(hall_ids):
            query = select(Show.hall_id, Show.starts_at, Show.external_id).where(
                Show.hall_id.in_(chunk), Show.starts_at.between(min(starts), max(starts))
            )
            for hall_id, starts_at, external_id in await self.session.execute(query):
                taken[(hall_id, starts_at)] = external_id
        return taken

    async def _shows_with_bookings(self, show_ids: list[int]) -> set[int]:
        booked: set[int] = set()
        for chunk in _chunks(show_ids):
            query = select(Booking.show_id).where(Booking.show_id.in_(chunk)).group_by(Booking.show_id)
            booked.update(await self.session.scalars(query))
        return booked

    async def _withdraw(self, catalogue: Catalogue, cinemas: dict[str, Cinema]) -> tuple[int, ...]:
        """Take off sale the upcoming shows of the file's cinemas that the file no longer lists."""
        listed = {spec.id for spec in catalogue.shows}
        query = (
            select(Show)
            .join(Hall, Show.hall_id == Hall.id)
            .where(
                Hall.cinema_id.in_([cinema.id for cinema in cinemas.values()]),
                Show.starts_at > self.now,
                Show.on_sale.is_(True),
            )
        )
        withdrawn = []
        for show in await self.session.scalars(query):
            if show.external_id not in listed:
                show.on_sale = False
                withdrawn.append(show.id)
        return tuple(sorted(withdrawn))

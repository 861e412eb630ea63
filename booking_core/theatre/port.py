"""The port to a connected cinema's own ticketing system (DESIGN.md section 10, docs/theatre-api.md).

A connected theatre is the source of truth for its seats: Marquee asks it for the schedule, for the seats
it has sold or locked, locks seats while a user pays, and commits the lock into the theatre's sale. This
module holds the words of that conversation (plain dataclasses and typed errors) and the `TheatreSystem`
protocol; the HTTP client lives in `adapters/theatre/http.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

LOCAL_SYSTEM = "local"  # Cinema.system of a theatre whose system is our own database.


def seat_label(row_label: str, number: int) -> str:
    """How a seat is named on the wire and to people: row then number, e.g. "F12"."""
    return f"{row_label}{number}"


def require_utc(moment: datetime, what: str) -> datetime:
    """`moment` converted to UTC; a naive datetime is refused because its zone would be a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class TheatreCinema:
    """A cinema of a connected theatre chain, as the theatre names and places it."""

    external_id: str
    name: str
    city: str
    latitude: float
    longitude: float
    timezone: str
    address: str


@dataclass(frozen=True)
class TheatreSeat:
    """One seat of a hall; `column` counts gaps, so an aisle is a column nobody sits in."""

    row_label: str
    number: int
    row_index: int
    column: int
    category: str

    @property
    def label(self) -> str:
        """The seat's name on the wire, e.g. "F12"."""
        return seat_label(self.row_label, self.number)


@dataclass(frozen=True)
class TheatreHall:
    """A hall and its seat layout."""

    external_id: str
    cinema_external_id: str
    name: str
    seats: tuple[TheatreSeat, ...]

    @property
    def categories(self) -> frozenset[str]:
        """The seat categories found in this hall."""
        return frozenset(seat.category for seat in self.seats)


@dataclass(frozen=True)
class TheatreMovie:
    """A film as the theatre lists it."""

    external_id: str
    title: str
    runtime_minutes: int
    age_rating: str
    language: str
    synopsis: str = ""


@dataclass(frozen=True)
class TheatreShow:
    """One screening: where, what, when (UTC) and the price of each seat category in minor units."""

    external_id: str
    cinema_external_id: str
    hall_external_id: str
    movie_external_id: str
    starts_at: datetime
    prices: Mapping[str, int] = field(hash=False)
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts_at", require_utc(self.starts_at, "starts_at"))
        object.__setattr__(self, "prices", dict(self.prices))


@dataclass(frozen=True)
class TheatreSchedule:
    """Everything a theatre offers in a time window, consistent in itself (checked on construction).

    Sync takes it all or nothing, so a schedule whose shows point at unknown halls or movies, or whose
    prices miss a category of the hall, is refused here rather than half-imported.
    """

    cinemas: tuple[TheatreCinema, ...]
    halls: tuple[TheatreHall, ...]
    movies: tuple[TheatreMovie, ...]
    shows: tuple[TheatreShow, ...]

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise ValueError("inconsistent schedule: " + "; ".join(problems[:5]))

    def _problems(self) -> list[str]:
        cinemas = {cinema.external_id for cinema in self.cinemas}
        halls = {hall.external_id: hall for hall in self.halls}
        movies = {movie.external_id for movie in self.movies}
        problems = [_duplicates("cinema", [c.external_id for c in self.cinemas])]
        problems.append(_duplicates("hall", [h.external_id for h in self.halls]))
        problems.append(_duplicates("movie", [m.external_id for m in self.movies]))
        problems.append(_duplicates("show", [s.external_id for s in self.shows]))
        for hall in self.halls:
            if hall.cinema_external_id not in cinemas:
                problems.append(f"hall {hall.external_id} is in unknown cinema {hall.cinema_external_id}")
            labels = [seat.label for seat in hall.seats]
            if not labels or len(set(labels)) != len(labels):
                problems.append(f"hall {hall.external_id} has no seats or repeats a seat")
        for show in self.shows:
            show_hall = halls.get(show.hall_external_id)
            if show_hall is None or show_hall.cinema_external_id != show.cinema_external_id:
                problems.append(f"show {show.external_id} is in unknown hall {show.hall_external_id}")
            elif not show_hall.categories <= show.prices.keys():
                missing = sorted(show_hall.categories - show.prices.keys())
                problems.append(f"show {show.external_id} has no price for {', '.join(missing)}")
            if show.movie_external_id not in movies:
                problems.append(f"show {show.external_id} shows unknown movie {show.movie_external_id}")
        return [problem for problem in problems if problem]

    def hall(self, external_id: str) -> TheatreHall:
        """The hall with this external id."""
        return next(hall for hall in self.halls if hall.external_id == external_id)


def _duplicates(kind: str, ids: list[str]) -> str:
    repeated = sorted({one for one in ids if ids.count(one) > 1})
    return f"{kind} ids repeat: {', '.join(repeated)}" if repeated else ""


@dataclass(frozen=True)
class SeatStatus:
    """The seats of one show that the theatre has sold or locked, and its version of that answer.

    `version` changes on every change of either set, so a cached status is current while it matches.
    """

    sold: frozenset[str]
    locked: frozenset[str]
    version: int

    @property
    def taken(self) -> frozenset[str]:
        """Seats nobody else can have right now."""
        return self.sold | self.locked


@dataclass(frozen=True)
class Lock:
    """A theatre's promise to keep seats for us until `expires_at` (UTC)."""

    lock_id: str
    expires_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "expires_at", require_utc(self.expires_at, "expires_at"))


@dataclass(frozen=True)
class Sale:
    """A committed lock: the theatre's ticket id and the seats it covers."""

    ticket_id: str
    seats: tuple[str, ...]


class TheatreError(Exception):
    """Something a connected theatre said or failed to say; `code` is stable for the bot to word."""

    code = "theatre_error"


class SeatsUnavailable(TheatreError):
    """The theatre has sold or locked some of the seats asked for (HTTP 409); `seats` names them."""

    code = "seats_unavailable"

    def __init__(self, seats: Sequence[str], message: str = "") -> None:
        self.seats = tuple(seats)
        super().__init__(message or f"seats not available: {', '.join(self.seats)}")


class LockExpired(TheatreError):
    """The lock ran out or was released before the commit (HTTP 410); its seats may still be free."""

    code = "lock_expired"


class TheatreUnavailable(TheatreError):
    """The theatre did not answer usefully: `reason` is timeout, connection, server_error,
    bad_response or circuit_open. Safe to try again later with the same idempotency key."""

    code = "theatre_unavailable"

    def __init__(self, reason: str, message: str = "") -> None:
        self.reason = reason
        super().__init__(message or f"theatre unavailable ({reason})")


class TheatreRejected(TheatreError):
    """The theatre answered and refused the request; `reason` is its error code, e.g. unknown_seats.

    Not worth repeating unchanged: the request or our configuration is wrong for this theatre.
    """

    code = "theatre_rejected"

    def __init__(self, status: int, reason: str, message: str = "") -> None:
        self.status = status
        self.reason = reason
        super().__init__(message or f"theatre refused the request: {status} {reason}")


class TheatreSystem(Protocol):
    """A cinema's own ticketing system: Theatre API v1 behind this interface (docs/theatre-api.md).

    Every method raises TheatreUnavailable when the theatre cannot be reached in time; POST-like calls
    take an idempotency key, and repeating a call with the same key yields the first answer.
    """

    async def schedule(self, frm: datetime, to: datetime) -> TheatreSchedule:
        """Cinemas, halls, movies and the shows starting in [frm, to)."""
        ...

    async def seat_status(self, show_external_id: str) -> SeatStatus:
        """The seats of a show sold or locked at the theatre, with their version."""
        ...

    async def lock(
        self,
        show_external_id: str,
        seats: Sequence[str],
        ttl_seconds: int,
        reference: str,
        idempotency_key: str,
    ) -> Lock:
        """Lock all of `seats` (labels like "F12") for ttl_seconds, or raise SeatsUnavailable."""
        ...

    async def release(self, lock_id: str) -> None:
        """Give a lock's seats back; releasing an expired or released lock is fine."""
        ...

    async def commit(
        self, lock_id: str, reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> Sale:
        """Turn a lock into a sale; raises LockExpired or SeatsUnavailable when it can no longer be."""
        ...

    async def cancel_ticket(self, ticket_id: str, idempotency_key: str) -> None:
        """Cancel a sold ticket, freeing its seats at the theatre."""
        ...

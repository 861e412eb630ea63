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
    on_sale_at: datetime | None = None  # a premiere: no seat is sold before it
    queue: bool = False  # its on-sale queue (README: "On-sale queue")

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts_at", require_utc(self.starts_at, "starts_at"))
        if self.on_sale_at is not None:
            object.__setattr__(self, "on_sale_at", require_utc(self.on_sale_at, "on_sale_at"))
        object.__setattr__(self, "prices", dict(self.prices))


def row_problem(kind: str, row_id: object, path: str, message: str) -> str:
    """A bad row of a theatre's answer as one line: "show X (shows[12].prices.premium): message"."""
    return f"{kind} {row_id} ({path}): {message}"


@dataclass(frozen=True)
class TheatreSchedule:
    """Everything a theatre offers in a time window, consistent in itself (checked on construction).

    Sync takes it all or nothing, so a schedule whose shows point at unknown halls or movies, or whose
    prices miss a category of the hall, is refused here (ScheduleRefused naming every bad row by its
    place in the answer) rather than half-imported.
    """

    cinemas: tuple[TheatreCinema, ...]
    halls: tuple[TheatreHall, ...]
    movies: tuple[TheatreMovie, ...]
    shows: tuple[TheatreShow, ...]

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise ScheduleRefused(problems)

    def _problems(self) -> list[str]:
        cinemas = {cinema.external_id for cinema in self.cinemas}
        halls = {hall.external_id: hall for hall in self.halls}
        movies = {movie.external_id for movie in self.movies}
        problems = _duplicates("cinema", "cinemas", [c.external_id for c in self.cinemas])
        problems += _duplicates("hall", "halls", [h.external_id for h in self.halls])
        problems += _duplicates("movie", "movies", [m.external_id for m in self.movies])
        problems += _duplicates("show", "shows", [s.external_id for s in self.shows])
        for index, hall in enumerate(self.halls):
            where = f"halls[{index}]"
            if hall.cinema_external_id not in cinemas:
                problems.append(
                    row_problem(
                        "hall",
                        hall.external_id,
                        f"{where}.cinema",
                        f"unknown cinema {hall.cinema_external_id}",
                    )
                )
            labels = [seat.label for seat in hall.seats]
            if not labels:
                problems.append(row_problem("hall", hall.external_id, f"{where}.rows", "no seats"))
            repeated = sorted({label for label in labels if labels.count(label) > 1})
            if repeated:
                message = f"repeats seat {', '.join(repeated)}"
                problems.append(row_problem("hall", hall.external_id, f"{where}.rows", message))
        for index, show in enumerate(self.shows):
            where = f"shows[{index}]"
            show_hall = halls.get(show.hall_external_id)
            if show_hall is None or show_hall.cinema_external_id != show.cinema_external_id:
                message = f"unknown hall {show.hall_external_id} in cinema {show.cinema_external_id}"
                problems.append(row_problem("show", show.external_id, f"{where}.hall", message))
            else:
                for category in sorted(show_hall.categories - show.prices.keys()):
                    message = f"no price for {category}, a seat category of hall {show_hall.external_id}"
                    problems.append(
                        row_problem("show", show.external_id, f"{where}.prices.{category}", message)
                    )
            if show.movie_external_id not in movies:
                message = f"unknown movie {show.movie_external_id}"
                problems.append(row_problem("show", show.external_id, f"{where}.movie", message))
        return problems

    def hall(self, external_id: str) -> TheatreHall:
        """The hall with this external id."""
        return next(hall for hall in self.halls if hall.external_id == external_id)


def _duplicates(kind: str, section: str, ids: list[str]) -> list[str]:
    first: dict[str, int] = {}
    problems = []
    for index, one in enumerate(ids):
        if one in first:
            message = f"repeats the id of {section}[{first[one]}]"
            problems.append(row_problem(kind, one, f"{section}[{index}].id", message))
        first.setdefault(one, index)
    return problems


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
    """A theatre's promise to keep seats for us until `expires_at` (UTC), and sell them for `amount_minor`.

    The theatre may grant less time than asked; its `expires_at` and price are what count.
    """

    lock_id: str
    expires_at: datetime
    amount_minor: int
    currency: str

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


class ScheduleRefused(TheatreError):
    """The theatre's schedule has bad rows; `problems` names each one as `row_problem` writes it."""

    code = "schedule_refused"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems[:5]))


class SeatsUnavailable(TheatreError):
    """The theatre has sold or locked some of the seats asked for (HTTP 409); `seats` names them, and
    `sold` those of them that are sold (the rest are locked)."""

    code = "seats_unavailable"

    def __init__(self, seats: Sequence[str], message: str = "", *, sold: Sequence[str] = ()) -> None:
        self.seats = tuple(seats)
        self.sold = tuple(seat for seat in sold if seat in self.seats)
        super().__init__(message or f"seats not available: {', '.join(self.seats)}")


class LockExpired(TheatreError):
    """The lock ran out or was released before the commit (HTTP 410); its seats may still be free."""

    code = "lock_expired"


class TheatreUnavailable(TheatreError):
    """The theatre did not answer usefully: `reason` is timeout, connection, server_error, in_progress
    (our first request with this key still runs there), bad_response or circuit_open. Safe to try again
    later with the same idempotency key."""

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

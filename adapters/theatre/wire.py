"""Theatre API v1 JSON to and from the port's dataclasses (docs/theatre-api.md).

Parsers raise KeyError, TypeError or ValueError on an answer that does not fit; the HTTP adapter turns
those into TheatreUnavailable("bad_response"). The schedule is validated by pydantic models instead,
and one with bad rows raises ScheduleRefused naming each row and field, e.g.
"show X (shows[12].prices.premium): Input should be a valid integer".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)
from pydantic_core import ErrorDetails

from booking_core.theatre.port import (
    Lock,
    Sale,
    ScheduleRefused,
    SeatStatus,
    TheatreCinema,
    TheatreHall,
    TheatreMovie,
    TheatreSchedule,
    TheatreSeat,
    TheatreShow,
    row_problem,
)


def rfc3339(moment: datetime) -> str:
    """An aware time as RFC 3339 UTC with a Z, as the Theatre API writes times."""
    if moment.tzinfo is None:
        raise ValueError("pass an aware datetime")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _utc(text: Any) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time without offset: {text!r}")
    return moment.astimezone(UTC)


Id = Annotated[StrictStr, Field(min_length=1)]


class _Wire(BaseModel):
    """A JSON object of the Theatre API; fields it adds later are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class _Cinema(_Wire):
    id: Id
    name: Id
    city: Id
    latitude: Annotated[float, Field(strict=True)]
    longitude: Annotated[float, Field(strict=True)]
    timezone: Id
    address: StrictStr

    def port(self) -> TheatreCinema:
        return TheatreCinema(
            self.id, self.name, self.city, self.latitude, self.longitude, self.timezone, self.address
        )


class _Seat(_Wire):
    number: StrictInt
    column: StrictInt
    category: Id


class _Row(_Wire):
    label: Id
    index: StrictInt
    seats: list[_Seat]


class _Hall(_Wire):
    id: Id
    cinema: Id
    name: Id
    rows: list[_Row]

    def port(self) -> TheatreHall:
        seats = tuple(
            TheatreSeat(row.label, seat.number, row.index, seat.column, seat.category)
            for row in self.rows
            for seat in row.seats
        )
        return TheatreHall(self.id, self.cinema, self.name, seats)


class _Movie(_Wire):
    id: Id
    title: Id
    runtime_minutes: StrictInt
    age_rating: StrictStr
    language: Id
    synopsis: StrictStr | None = None

    def port(self) -> TheatreMovie:
        return TheatreMovie(
            self.id, self.title, self.runtime_minutes, self.age_rating, self.language, self.synopsis or ""
        )


class _Show(_Wire):
    id: Id
    cinema: Id
    hall: Id
    movie: Id
    starts_at: AwareDatetime
    prices: dict[str, StrictInt]
    currency: Id
    on_sale_at: AwareDatetime | None = None
    queue: StrictBool = False

    def port(self) -> TheatreShow:
        return TheatreShow(
            self.id,
            self.cinema,
            self.hall,
            self.movie,
            self.starts_at,
            self.prices,
            self.currency,
            on_sale_at=self.on_sale_at,
            queue=self.queue,
        )


class _Schedule(_Wire):
    cinemas: list[_Cinema]
    halls: list[_Hall]
    movies: list[_Movie]
    shows: list[_Show]


_KINDS = {"cinemas": "cinema", "halls": "hall", "movies": "movie", "shows": "show"}


def parse_schedule(body: Any) -> TheatreSchedule:
    """A TheatreSchedule from the JSON of GET /v1/schedule.

    Raises ScheduleRefused naming every row that does not fit, e.g. "show X (shows[3].starts_at): ...".
    """
    try:
        wire = _Schedule.model_validate(body)
    except ValidationError as invalid:
        raise ScheduleRefused([_problem(body, error) for error in invalid.errors()]) from None
    return TheatreSchedule(
        cinemas=tuple(cinema.port() for cinema in wire.cinemas),
        halls=tuple(hall.port() for hall in wire.halls),
        movies=tuple(movie.port() for movie in wire.movies),
        shows=tuple(show.port() for show in wire.shows),
    )


def _problem(body: Any, error: ErrorDetails) -> str:
    """One validation error as a row problem: the row's kind and id, and the path to the field."""
    loc = error["loc"]
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    if len(loc) >= 2 and loc[0] in _KINDS and isinstance(loc[1], int):
        row = body[loc[0]][loc[1]]
        row_id = row.get("id", "?") if isinstance(row, dict) else "?"
        return row_problem(_KINDS[str(loc[0])], row_id, path, error["msg"])
    return f"schedule{f' ({path})' if path else ''}: {error['msg']}"


def parse_seat_status(body: Any) -> SeatStatus:
    """A SeatStatus from the JSON of GET /v1/shows/{show}/seats."""
    return SeatStatus(
        sold=frozenset(str(seat) for seat in body["sold"]),
        locked=frozenset(str(seat) for seat in body["locked"]),
        version=int(body["version"]),
    )


def parse_lock(body: Any) -> Lock:
    """A Lock from the JSON of a 201 to POST /v1/shows/{show}/locks."""
    return Lock(
        lock_id=str(body["lock_id"]),
        expires_at=_utc(body["expires_at"]),
        amount_minor=int(body["amount"]),
        currency=str(body["currency"]).upper(),
    )


def parse_sale(body: Any) -> Sale:
    """A Sale from the JSON of a 201 to POST /v1/locks/{lock}/commit."""
    return Sale(ticket_id=str(body["ticket_id"]), seats=tuple(str(seat) for seat in body["seats"]))

"""Theatre API v1 JSON to and from the port's dataclasses (docs/theatre-api.md).

Parsers raise KeyError, TypeError or ValueError on an answer that does not fit; the HTTP adapter turns
those into TheatreUnavailable("bad_response"). A schedule with bad rows raises ScheduleRefused instead,
naming each row and field ("show X (shows[12].prices.premium): missing").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from booking_core.theatre import (
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

T = TypeVar("T")


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


class _BadField(Exception):
    """One field of a schedule row that does not fit: where (under the row) and what is wrong."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _field(row: Any, name: str, convert: Callable[[Any], T], what: str) -> T:
    if not isinstance(row, dict):
        raise _BadField("", "is not a JSON object")
    if name not in row:
        raise _BadField(f".{name}", "missing")
    try:
        return convert(row[name])
    except (TypeError, ValueError):
        raise _BadField(f".{name}", f"{row[name]!r} is not {what}") from None


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(value)
    return value


def _whole(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(value)
    return value


def _number(value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ValueError(value)
    return float(value)


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(value)
    return _utc(value)


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(value)
    return value


TEXT, WHOLE, NUMBER = "text", "a whole number", "a number"
TIME = "an RFC 3339 time with an offset"


def parse_schedule(body: Any) -> TheatreSchedule:
    """A TheatreSchedule from the JSON of GET /v1/schedule.

    Raises ScheduleRefused naming every row that does not fit, e.g. "show X (shows[3].starts_at): ...",
    and ValueError when the answer is not a schedule at all.
    """
    if not isinstance(body, dict):
        raise ValueError("the schedule is not a JSON object")
    problems: list[str] = []
    cinemas = _rows(body, "cinemas", "cinema", _cinema, problems)
    halls = _rows(body, "halls", "hall", _hall, problems)
    movies = _rows(body, "movies", "movie", _movie, problems)
    shows = _rows(body, "shows", "show", _show, problems)
    if problems:
        raise ScheduleRefused(problems)
    return TheatreSchedule(cinemas=cinemas, halls=halls, movies=movies, shows=shows)


def _rows(
    body: dict[str, Any], section: str, kind: str, parse: Callable[[Any], T], problems: list[str]
) -> tuple[T, ...]:
    rows = body.get(section)
    if not isinstance(rows, list):
        problems.append(f"{section}: {'missing' if rows is None else 'not a list'}")
        return ()
    parsed = []
    for index, row in enumerate(rows):
        try:
            parsed.append(parse(row))
        except _BadField as bad:
            row_id = row.get("id", "?") if isinstance(row, dict) else "?"
            problems.append(row_problem(kind, row_id, f"{section}[{index}]{bad.path}", bad.message))
    return tuple(parsed)


def _cinema(row: Any) -> TheatreCinema:
    return TheatreCinema(
        external_id=_field(row, "id", _text, TEXT),
        name=_field(row, "name", _text, TEXT),
        city=_field(row, "city", _text, TEXT),
        latitude=_field(row, "latitude", _number, NUMBER),
        longitude=_field(row, "longitude", _number, NUMBER),
        timezone=_field(row, "timezone", _text, TEXT),
        address=_field(row, "address", _text, TEXT),
    )


def _movie(row: Any) -> TheatreMovie:
    return TheatreMovie(
        external_id=_field(row, "id", _text, TEXT),
        title=_field(row, "title", _text, TEXT),
        runtime_minutes=_field(row, "runtime_minutes", _whole, WHOLE),
        age_rating=_field(row, "age_rating", _text, TEXT),
        language=_field(row, "language", _text, TEXT),
        synopsis=str(row.get("synopsis") or ""),
    )


def _show(row: Any) -> TheatreShow:
    prices = _field(row, "prices", _price_object, "an object of seat categories")
    for category, amount in prices.items():
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise _BadField(f".prices.{category}", f"{amount!r} is not {WHOLE}")
    return TheatreShow(
        external_id=_field(row, "id", _text, TEXT),
        cinema_external_id=_field(row, "cinema", _text, TEXT),
        hall_external_id=_field(row, "hall", _text, TEXT),
        movie_external_id=_field(row, "movie", _text, TEXT),
        starts_at=_field(row, "starts_at", _time, TIME),
        prices=prices,
        currency=_field(row, "currency", _text, TEXT),
    )


def _price_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(value)
    return value


def _hall(hall: Any) -> TheatreHall:
    seats = []
    for row_index, row in enumerate(_field(hall, "rows", _list, "a list")):
        where = f".rows[{row_index}]"
        try:
            label, index = _field(row, "label", _text, TEXT), _field(row, "index", _whole, WHOLE)
            for seat_index, seat in enumerate(_field(row, "seats", _list, "a list")):
                try:
                    number, column = (
                        _field(seat, "number", _whole, WHOLE),
                        _field(seat, "column", _whole, WHOLE),
                    )
                    category = _field(seat, "category", _text, TEXT)
                except _BadField as bad:
                    raise _BadField(f".seats[{seat_index}]{bad.path}", bad.message) from None
                seats.append(TheatreSeat(label, number, index, column, category))
        except _BadField as bad:
            raise _BadField(where + bad.path, bad.message) from None
    return TheatreHall(
        external_id=_field(hall, "id", _text, TEXT),
        cinema_external_id=_field(hall, "cinema", _text, TEXT),
        name=_field(hall, "name", _text, TEXT),
        seats=tuple(seats),
    )


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

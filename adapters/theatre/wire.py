"""Theatre API v1 JSON to and from the port's dataclasses (docs/theatre-api.md).

Parsers raise KeyError, TypeError or ValueError on an answer that does not fit; the HTTP adapter turns
those into TheatreUnavailable("bad_response").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from booking_core.theatre.port import (
    Lock,
    Sale,
    SeatStatus,
    TheatreCinema,
    TheatreHall,
    TheatreMovie,
    TheatreSchedule,
    TheatreSeat,
    TheatreShow,
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


def parse_schedule(body: Any) -> TheatreSchedule:
    """A TheatreSchedule from the JSON of GET /v1/schedule."""
    return TheatreSchedule(
        cinemas=tuple(
            TheatreCinema(
                external_id=str(cinema["id"]),
                name=str(cinema["name"]),
                city=str(cinema["city"]),
                latitude=float(cinema["latitude"]),
                longitude=float(cinema["longitude"]),
                timezone=str(cinema["timezone"]),
                address=str(cinema["address"]),
            )
            for cinema in body["cinemas"]
        ),
        halls=tuple(_hall(hall) for hall in body["halls"]),
        movies=tuple(
            TheatreMovie(
                external_id=str(movie["id"]),
                title=str(movie["title"]),
                runtime_minutes=int(movie["runtime_minutes"]),
                age_rating=str(movie["age_rating"]),
                language=str(movie["language"]),
                synopsis=str(movie.get("synopsis") or ""),
            )
            for movie in body["movies"]
        ),
        shows=tuple(
            TheatreShow(
                external_id=str(show["id"]),
                cinema_external_id=str(show["cinema"]),
                hall_external_id=str(show["hall"]),
                movie_external_id=str(show["movie"]),
                starts_at=_utc(show["starts_at"]),
                prices={str(category): int(amount) for category, amount in show["prices"].items()},
                currency=str(show["currency"]),
            )
            for show in body["shows"]
        ),
    )


def _hall(hall: Any) -> TheatreHall:
    seats = tuple(
        TheatreSeat(
            row_label=str(row["label"]),
            number=int(seat["number"]),
            row_index=int(row["index"]),
            column=int(seat["column"]),
            category=str(seat["category"]),
        )
        for row in hall["rows"]
        for seat in row["seats"]
    )
    return TheatreHall(
        external_id=str(hall["id"]),
        cinema_external_id=str(hall["cinema"]),
        name=str(hall["name"]),
        seats=seats,
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
    return Lock(lock_id=str(body["lock_id"]), expires_at=_utc(body["expires_at"]))


def parse_sale(body: Any) -> Sale:
    """A Sale from the JSON of a 201 to POST /v1/locks/{lock}/commit."""
    return Sale(ticket_id=str(body["ticket_id"]), seats=tuple(str(seat) for seat in body["seats"]))

"""The cinema's own till on a Theatre DB v1 database: sells and cancels straight in the tables.

It follows the contract's transactions like any application of the database: bump the show's version
first (which queues the show's writers), refuse seats held by a ticket or a live lock, take over lapsed
locks' seats, and let the primary key of `seat_claims` have the last word.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

APPLICATION = "boxoffice"


class BoxOfficeRefusal(Exception):
    """A sale or cancellation the till refuses; `code` as in the Theatre API, `seats` the taken ones."""

    def __init__(self, code: str, message: str, seats: Sequence[str] = ()) -> None:
        self.code = code
        self.seats = tuple(seats)
        super().__init__(message)


@dataclass(frozen=True)
class TillTicket:
    """A ticket sold at the till."""

    ticket_id: str
    show_id: str
    seats: tuple[str, ...]
    amount: int
    currency: str


def _now(clock: Callable[[], datetime]) -> datetime:
    return clock().astimezone(UTC).replace(tzinfo=None)


_TAKEN = text(
    "SELECT seat FROM seat_claims WHERE show_id = :show AND seat IN :seats"
    " AND (ticket_id IS NOT NULL OR expires_at > :now)"
).bindparams(bindparam("seats", expanding=True), bindparam("now", type_=DateTime()))
_TAKE_OVER_LAPSED = text(
    "DELETE FROM seat_claims WHERE show_id = :show AND seat IN :seats"
    " AND lock_id IS NOT NULL AND expires_at <= :now"
).bindparams(bindparam("seats", expanding=True), bindparam("now", type_=DateTime()))
_PRICES = text(
    "SELECT s.row_label, s.number, p.amount, sh.currency FROM shows sh"
    " JOIN seats s ON s.hall_id = sh.hall_id"
    " JOIN show_prices p ON p.show_id = sh.id AND p.category = s.category WHERE sh.id = :show"
)


async def sell(
    engine: AsyncEngine,
    show_id: str,
    seats: Sequence[str],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> TillTicket:
    """Sell the seats at the till, all or none; BoxOfficeRefusal names seats already taken."""
    labels = list(dict.fromkeys(seats))
    if not labels:
        raise BoxOfficeRefusal("invalid_request", "name at least one seat")
    for _ in range(5):
        try:
            async with engine.begin() as connection:
                return await _sell(connection, show_id, labels, _now(clock))
        except IntegrityError:
            continue  # another application claimed one of the seats meanwhile: look again
    raise BoxOfficeRefusal("busy", "the seats keep changing hands: try again")


async def _sell(connection: AsyncConnection, show_id: str, labels: list[str], now: datetime) -> TillTicket:
    bumped = await connection.execute(
        text("UPDATE shows SET version = version + 1 WHERE id = :show"), {"show": show_id}
    )
    if bumped.rowcount == 0:
        raise BoxOfficeRefusal("show_not_found", f"no show {show_id}")
    prices = {
        f"{row.row_label}{row.number}": (int(row.amount), row.currency)
        for row in await connection.execute(_PRICES, {"show": show_id})
    }
    unknown = [label for label in labels if label not in prices]
    if unknown:
        raise BoxOfficeRefusal("unknown_seats", f"no seats {', '.join(unknown)}", unknown)
    held = set((await connection.execute(_TAKEN, {"show": show_id, "seats": labels, "now": now})).scalars())
    taken = [label for label in labels if label in held]
    if taken:
        raise BoxOfficeRefusal("seats_unavailable", f"seats not available: {', '.join(taken)}", taken)
    await connection.execute(_TAKE_OVER_LAPSED, {"show": show_id, "seats": labels, "now": now})
    ticket_id = f"BO-{uuid.uuid4().hex[:10].upper()}"
    amount = sum(prices[label][0] for label in labels)
    currency = prices[labels[0]][1]
    await connection.execute(
        text(
            "INSERT INTO tickets"
            " (id, show_id, application, reference, seats, amount, currency, cancelled, created_at)"
            " VALUES (:id, :show, :application, :id, :seats, :amount, :currency, :cancelled, :now)"
        ).bindparams(bindparam("now", type_=DateTime())),
        {
            "id": ticket_id,
            "show": show_id,
            "application": APPLICATION,
            "seats": ",".join(labels),
            "amount": amount,
            "currency": currency,
            "cancelled": False,
            "now": now,
        },
    )
    await connection.execute(
        text("INSERT INTO seat_claims (show_id, seat, ticket_id) VALUES (:show, :seat, :ticket)"),
        [{"show": show_id, "seat": label, "ticket": ticket_id} for label in labels],
    )
    return TillTicket(ticket_id, show_id, tuple(labels), amount, currency)


async def cancel(engine: AsyncEngine, ticket_id: str) -> None:
    """Cancel any ticket of the cinema (the till may cancel every application's), freeing its seats."""
    async with engine.begin() as connection:
        ticket = (
            await connection.execute(
                text("SELECT show_id, cancelled FROM tickets WHERE id = :id"), {"id": ticket_id}
            )
        ).first()
        if ticket is None:
            raise BoxOfficeRefusal("ticket_not_found", f"no ticket {ticket_id}")
        if ticket.cancelled:
            return
        await connection.execute(
            text("UPDATE shows SET version = version + 1 WHERE id = :show"), {"show": ticket.show_id}
        )
        await connection.execute(text("DELETE FROM seat_claims WHERE ticket_id = :id"), {"id": ticket_id})
        await connection.execute(
            text("UPDATE tickets SET cancelled = :yes WHERE id = :id"), {"id": ticket_id, "yes": True}
        )


async def tickets(engine: AsyncEngine, show_id: str) -> list[dict[str, object]]:
    """Every ticket of a show, oldest first, as the till lists them."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT id, application, reference, seats, amount, currency, cancelled FROM tickets"
                " WHERE show_id = :show ORDER BY created_at, id"
            ),
            {"show": show_id},
        )
        return [dict(row._mapping) for row in rows]


_UPCOMING = (
    text(
        "SELECT s.id, s.starts_at, m.title, c.name AS cinema, c.timezone, h.name AS hall,"
        " (SELECT COUNT(*) FROM seats t WHERE t.hall_id = s.hall_id)"
        " - (SELECT COUNT(*) FROM seat_claims k WHERE k.show_id = s.id"
        " AND (k.ticket_id IS NOT NULL OR k.expires_at > :now)) AS free"
        " FROM shows s JOIN movies m ON m.id = s.movie_id JOIN cinemas c ON c.id = s.cinema_id"
        " JOIN halls h ON h.id = s.hall_id WHERE s.starts_at > :now ORDER BY s.starts_at, s.id LIMIT :limit"
    )
    .bindparams(bindparam("now", type_=DateTime()))
    .columns(starts_at=DateTime())
)
_SHOW = text(
    "SELECT s.id, s.hall_id, s.starts_at, s.version, m.title, c.name AS cinema, c.timezone, h.name AS hall"
    " FROM shows s JOIN movies m ON m.id = s.movie_id JOIN cinemas c ON c.id = s.cinema_id"
    " JOIN halls h ON h.id = s.hall_id WHERE s.id = :show"
).columns(starts_at=DateTime())
_SEATS = text("SELECT row_label, number, row_index, col, category FROM seats WHERE hall_id = :hall")
_CLAIMS = text(
    "SELECT seat, ticket_id FROM seat_claims"
    " WHERE show_id = :show AND (ticket_id IS NOT NULL OR expires_at > :now)"
).bindparams(bindparam("now", type_=DateTime()))


def _timestamp(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()


async def upcoming_shows(
    engine: AsyncEngine, clock: Callable[[], datetime] = lambda: datetime.now(UTC), limit: int = 100
) -> list[dict[str, object]]:
    """Shows not yet started, soonest first, with titles, places and free seat counts."""
    async with engine.connect() as connection:
        rows = await connection.execute(_UPCOMING, {"now": _now(clock), "limit": limit})
        return [{**row._mapping, "starts_at": _timestamp(row.starts_at)} for row in rows]


@dataclass(frozen=True)
class TillSeatMap:
    """A show (id, title, starts_at as a UTC timestamp, timezone, cinema, hall), its version and its seats."""

    show: dict[str, Any]
    version: int
    seats: list[dict[str, Any]]


async def seat_map(
    engine: AsyncEngine, show_id: str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> TillSeatMap:
    """A show with every seat of its hall, each free, locked or sold (BoxOfficeRefusal for no such show)."""
    async with engine.connect() as connection:
        show = (await connection.execute(_SHOW, {"show": show_id})).first()
        if show is None:
            raise BoxOfficeRefusal("show_not_found", f"no show {show_id}")
        claims = await connection.execute(_CLAIMS, {"show": show_id, "now": _now(clock)})
        state = {claim.seat: "sold" if claim.ticket_id else "locked" for claim in claims}
        seats = []
        for seat in await connection.execute(_SEATS, {"hall": show.hall_id}):
            label = f"{seat.row_label}{seat.number}"
            seats.append({**seat._mapping, "label": label, "state": state.get(label, "free")})
    seats.sort(key=lambda seat: (seat["row_index"], seat["col"]))
    return TillSeatMap({**show._mapping, "starts_at": _timestamp(show.starts_at)}, int(show.version), seats)

"""`TheatreSystem` over a cinema's own SQL database: Theatre DB v1 (docs/theatre-db.md).

The cinema's box office and other booking applications write the same tables. What keeps a seat from
being sold twice is the database itself: `seat_claims` has one row per show and seat (its primary key),
held by a live lock or a ticket. A lock reads everything it needs in one statement and refuses from
that read, writing nothing; otherwise it bumps the show's `version` (whose row lock queues the show's
writers in one order, so they never deadlock) and writes. A seat claimed by someone else since the read
ends in a duplicate key, and the transaction runs again, then naming the winner.

Each call runs under one time budget and a circuit breaker, on a small pool of its own, so a theatre
database that is down or slow costs its own shows at most the timeout and never blocks another cinema.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Row, String, and_, bindparam, cast, delete, insert, or_, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from adapters.theatre.circuit_breaker import CircuitBreaker
from adapters.theatre.db_tables import (
    check_contract,
    cinemas,
    halls,
    movies,
    seat_claims,
    seat_locks,
    seats,
    show_prices,
    shows,
    tickets,
)
from booking_core.settings import THEATRE_DATABASE_DRIVERS
from booking_core.theatre.port import (
    Lock,
    LockExpired,
    Sale,
    SeatStatus,
    SeatsUnavailable,
    TheatreCinema,
    TheatreError,
    TheatreHall,
    TheatreMovie,
    TheatreRejected,
    TheatreSchedule,
    TheatreSeat,
    TheatreShow,
    TheatreUnavailable,
    seat_label,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_SEATS, MAX_TTL_SECONDS = 20, 1800
CHECK_SECONDS = 10.0  # the start-up check of the schema and rights
# A show's version counts changes in steps of this, plus the locks that ran out since (see seat_status).
VERSION_STEP = 100_000
# Deadlock, serialization failure, lock wait timeout, SQLite's busy file: try the transaction again.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
_TRANSIENT_MYSQL_ERRORS = frozenset({1205, 1213})

Operation = Callable[[AsyncConnection], Awaitable[T]]

# The statements of the hot path, built once. A seat's label ("F12") is computed in the database, so
# that one read joins the wanted seats with their prices and their claims.
_SEAT_LABEL = seats.c.row_label + cast(seats.c.number, String)
_LOCK_READ = (
    select(
        shows.c.starts_at,
        shows.c.currency,
        seats.c.row_label,
        seats.c.number,
        seats.c.category,
        show_prices.c.amount,
        seat_claims.c.lock_id,
        seat_claims.c.ticket_id,
        seat_claims.c.expires_at,
        select(seat_locks.c.id)
        .where(seat_locks.c.application == bindparam("app"), seat_locks.c.request_key == bindparam("key"))
        .scalar_subquery()
        .label("earlier"),
    )
    .select_from(
        shows.outerjoin(
            seats,
            and_(seats.c.hall_id == shows.c.hall_id, _SEAT_LABEL.in_(bindparam("labels", expanding=True))),
        )
        .outerjoin(
            show_prices,
            and_(show_prices.c.show_id == shows.c.id, show_prices.c.category == seats.c.category),
        )
        .outerjoin(seat_claims, and_(seat_claims.c.show_id == shows.c.id, seat_claims.c.seat == _SEAT_LABEL))
    )
    .where(shows.c.id == bindparam("show"))
)
_INSERT_LOCK = insert(seat_locks)
# One of our locks, taken for update (its show's start beside it, not locked), to commit or release it.
_OUR_LOCK = (
    select(
        seat_locks,
        select(shows.c.starts_at)
        .where(shows.c.id == seat_locks.c.show_id)
        .scalar_subquery()
        .label("starts_at"),
    )
    .where(seat_locks.c.id == bindparam("lock"), seat_locks.c.application == bindparam("app"))
    .with_for_update()
)
_TAKE_OVER_LAPSED = delete(seat_claims).where(
    seat_claims.c.show_id == bindparam("show"),
    seat_claims.c.seat.in_(bindparam("seats", expanding=True)),
    seat_claims.c.lock_id.is_not(None),
    seat_claims.c.expires_at <= bindparam("now", type_=seat_claims.c.expires_at.type),
)
_RELEASE = (
    update(seat_locks)
    .where(
        seat_locks.c.id == bindparam("lock"),
        seat_locks.c.application == bindparam("app"),
        seat_locks.c.state == "live",
    )
    .values(state="released")
)
_BUMP_OF_LOCK = (
    update(shows)
    .where(
        shows.c.id
        == select(seat_locks.c.show_id).where(seat_locks.c.id == bindparam("lock")).scalar_subquery()
    )
    .values(version=shows.c.version + 1)
)
_FREE_LOCK_SEATS = delete(seat_claims).where(seat_claims.c.lock_id == bindparam("lock"))


class _WantedSeat(NamedTuple):
    """A seat a lock asks for: its label, its price, and whether a lapsed lock's claim is to be taken over."""

    label: str
    amount: int
    lapsed: bool


def _wanted_seats(
    show_id: str, labels: Sequence[str], rows: Sequence[Row[*tuple[Any, ...]]], now: datetime
) -> list[_WantedSeat]:
    """The wanted seats from the lock's read; refused for a missing or started show, unknown or taken seat."""
    if not rows:
        raise TheatreRejected(404, "show_not_found", f"no show {show_id}")
    if rows[0].starts_at <= now:
        raise TheatreRejected(422, "show_closed", "the show has started")
    found = {seat_label(row.row_label, int(row.number)): row for row in rows if row.row_label is not None}
    unknown = [label for label in labels if label not in found]
    if unknown:
        raise TheatreRejected(422, "unknown_seats", f"no seats {', '.join(unknown)} in this hall")
    unpriced = sorted({row.category for row in found.values() if row.amount is None})
    if unpriced:
        raise TheatreRejected(422, "no_price", f"show {show_id} has no price for {', '.join(unpriced)}")
    sold = [label for label in labels if found[label].ticket_id is not None]
    locked = [
        label for label in labels if found[label].expires_at is not None and found[label].expires_at > now
    ]
    if sold or locked:
        raise SeatsUnavailable([label for label in labels if label in sold or label in locked], sold=sold)
    return [
        _WantedSeat(label, int(found[label].amount), found[label].lock_id is not None) for label in labels
    ]


class DatabaseTheatreSystem:
    """One connected theatre's database, reached through a small pool of its own.

    `application` is the name Marquee's locks and tickets carry there; `timeout` bounds a call including
    the wait for a connection and retries, `schedule_timeout` the (large, background) schedule read.
    `clock` is the UTC time locks are compared with (every application of the database must keep time).
    """

    def __init__(
        self,
        database_url: str,
        *,
        name: str = "",
        application: str = "marquee",
        timeout: float = 1.0,
        schedule_timeout: float = 30.0,
        pool_size: int = 2,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if timeout <= 0 or schedule_timeout <= 0 or pool_size < 1:
            raise ValueError("timeouts must be positive and the pool at least one connection")
        self.name = name or make_url(database_url).render_as_string(hide_password=True)
        self.application = application
        self.timeout = timeout
        self.schedule_timeout = schedule_timeout
        self.breaker = breaker or CircuitBreaker(failure_threshold=3, reset_seconds=5.0)
        self._clock = clock
        self.engine = theatre_engine(database_url, timeout=timeout, pool_size=pool_size)

    async def __aenter__(self) -> DatabaseTheatreSystem:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the pool's connections."""
        await self.engine.dispose()

    async def check_contract(self) -> None:
        """Raise ContractMismatch (one line) unless the database offers Theatre DB v1 to this user.

        Raises TimeoutError, OSError or DBAPIError when the database cannot be asked right now.
        """
        async with asyncio.timeout(CHECK_SECONDS):
            await check_contract(self.engine, self.name)

    # -- TheatreSystem -----------------------------------------------------------------------------

    async def schedule(self, frm: datetime, to: datetime) -> TheatreSchedule:
        """Cinemas, halls with their seats, and the movies and shows starting in [frm, to)."""

        async def read(connection: AsyncConnection) -> TheatreSchedule:
            window = and_(shows.c.starts_at >= _naive(frm), shows.c.starts_at < _naive(to))
            show_rows = (await connection.execute(select(shows).where(window).order_by(shows.c.id))).all()
            prices: dict[str, dict[str, int]] = {}
            price_rows = await connection.execute(
                select(show_prices).join(shows, shows.c.id == show_prices.c.show_id).where(window)
            )
            for price in price_rows:
                prices.setdefault(price.show_id, {})[price.category] = int(price.amount)
            movie_ids = {show.movie_id for show in show_rows}
            movie_rows = (await connection.execute(select(movies).where(movies.c.id.in_(movie_ids)))).all()
            seat_rows = (
                await connection.execute(
                    select(seats).order_by(seats.c.hall_id, seats.c.row_index, seats.c.col)
                )
            ).all()
            hall_seats: dict[str, list[TheatreSeat]] = {}
            for seat in seat_rows:
                hall_seats.setdefault(seat.hall_id, []).append(
                    TheatreSeat(
                        seat.row_label, int(seat.number), int(seat.row_index), int(seat.col), seat.category
                    )
                )
            return TheatreSchedule(
                cinemas=tuple(
                    TheatreCinema(
                        c.id, c.name, c.city, float(c.latitude), float(c.longitude), c.timezone, c.address
                    )
                    for c in await connection.execute(select(cinemas).order_by(cinemas.c.id))
                ),
                halls=tuple(
                    TheatreHall(h.id, h.cinema_id, h.name, tuple(hall_seats.get(h.id, ())))
                    for h in await connection.execute(select(halls).order_by(halls.c.id))
                ),
                movies=tuple(
                    TheatreMovie(
                        m.id, m.title, int(m.runtime_minutes), m.age_rating, m.language, m.synopsis or ""
                    )
                    for m in movie_rows
                ),
                shows=tuple(
                    TheatreShow(
                        external_id=s.id,
                        cinema_external_id=s.cinema_id,
                        hall_external_id=s.hall_id,
                        movie_external_id=s.movie_id,
                        starts_at=_aware(s.starts_at),
                        prices=prices.get(s.id, {}),
                        currency=s.currency,
                    )
                    for s in show_rows
                ),
            )

        try:
            return await self._run("schedule", read, budget=self.schedule_timeout)
        except ValueError as exc:  # the rows do not make a consistent schedule
            self.breaker.record_success()
            raise TheatreUnavailable("bad_response", f"{self.name}: unusable schedule: {exc}") from None

    async def seat_status(self, show_external_id: str) -> SeatStatus:
        """The show's sold and live-locked seats; reading changes nothing.

        The version is the show's change counter in steps of VERSION_STEP plus the number of locks that
        have run out since anyone wrote: a lock expiring with nobody calling changes the answer too.
        """

        async def read(connection: AsyncConnection) -> SeatStatus:
            version = (
                await connection.execute(select(shows.c.version).where(shows.c.id == show_external_id))
            ).scalar()
            if version is None:
                raise TheatreRejected(404, "show_not_found", f"no show {show_external_id}")
            claims = await connection.execute(
                select(seat_claims).where(seat_claims.c.show_id == show_external_id)
            )
            now = self._now()
            sold, locked, lapsed = set(), set(), 0
            for claim in claims:
                if claim.ticket_id is not None:
                    sold.add(claim.seat)
                elif claim.expires_at > now:
                    locked.add(claim.seat)
                else:
                    lapsed += 1
            return SeatStatus(frozenset(sold), frozenset(locked), int(version) * VERSION_STEP + lapsed)

        return await self._run("seat_status", read)

    async def lock(
        self,
        show_external_id: str,
        seats: Sequence[str],
        ttl_seconds: int,
        reference: str,
        idempotency_key: str,
    ) -> Lock:
        """Lock all the seats or none, taking over lapsed locks' seats in the same transaction.

        The same idempotency key with the same request answers the first lock again.
        """
        labels = tuple(seats)
        if not 1 <= len(labels) <= MAX_SEATS or len(set(labels)) != len(labels):
            raise TheatreRejected(400, "invalid_request", f"1-{MAX_SEATS} different seats, please")
        if not 1 <= ttl_seconds <= MAX_TTL_SECONDS or not reference or not idempotency_key:
            raise TheatreRejected(400, "invalid_request", "ttl, reference or key out of range")
        joined = ",".join(labels)

        async def write(connection: AsyncConnection) -> Lock:
            now = self._now()
            wanted = await connection.execute(
                _LOCK_READ,
                {"show": show_external_id, "labels": labels, "app": self.application, "key": idempotency_key},
            )
            rows = wanted.all()
            if rows and rows[0].earlier is not None:
                return await self._replay(connection, rows[0].earlier, show_external_id, joined, reference)
            seat_rows = _wanted_seats(show_external_id, labels, rows, now)
            lapsed = [seat.label for seat in seat_rows if seat.lapsed]
            lock_id = f"L-{uuid.uuid4().hex[:16]}"
            expires_at = now + timedelta(seconds=ttl_seconds)
            amount, currency = sum(seat.amount for seat in seat_rows), rows[0].currency
            # Before any write, the show's version: its row lock queues the show's writers.
            await self._bump(connection, show_external_id)
            await connection.execute(
                _INSERT_LOCK,
                {
                    "id": lock_id,
                    "show_id": show_external_id,
                    "application": self.application,
                    "reference": reference,
                    "request_key": idempotency_key,
                    "seats": joined,
                    "amount": amount,
                    "currency": currency,
                    "expires_at": expires_at,
                    "state": "live",
                    "created_at": now,
                },
            )
            if lapsed:
                await connection.execute(
                    _TAKE_OVER_LAPSED, {"show": show_external_id, "seats": lapsed, "now": now}
                )
            # The primary key decides: a seat claimed since the read is a duplicate key, and the
            # transaction runs again, then seeing the winner.
            await connection.execute(
                insert(seat_claims).values(
                    [
                        {
                            "show_id": show_external_id,
                            "seat": seat,
                            "lock_id": lock_id,
                            "expires_at": expires_at,
                        }
                        for seat in labels
                    ]
                )
            )
            return Lock(lock_id, _aware(expires_at), amount, currency)

        return await self._run("lock", write)

    async def release(self, lock_id: str) -> None:
        """Free a lock's seats; fine for a released or lapsed lock, refused for a committed one."""

        async def write(connection: AsyncConnection) -> None:
            released = await connection.execute(_RELEASE, {"lock": lock_id, "app": self.application})
            if released.rowcount == 0:
                lock = await self._our_lock(connection, lock_id)
                if lock.state == "committed":
                    raise TheatreRejected(409, "lock_committed", "the lock became a sale: cancel the ticket")
                return  # released already
            await connection.execute(_BUMP_OF_LOCK, {"lock": lock_id})
            await connection.execute(_FREE_LOCK_SEATS, {"lock": lock_id})

        await self._run("release", write)

    async def commit(
        self, lock_id: str, reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> Sale:
        """Turn a live lock into a ticket; a committed lock answers its ticket again, whatever the key.

        A lapsed lock is LockExpired while its seats are free, SeatsUnavailable once some went elsewhere.
        """

        async def write(connection: AsyncConnection) -> Sale:
            lock = await self._our_lock(connection, lock_id)
            if lock.state == "committed":
                return await self._sale(connection, lock.ticket_id)
            now = self._now()
            if lock.starts_at <= now:
                raise TheatreRejected(422, "show_closed", "the show has started; it is no longer on sale")
            if (lock.amount, lock.currency) != (amount_minor, currency):
                raise TheatreRejected(422, "amount_mismatch", f"the lock costs {lock.amount} {lock.currency}")
            labels = tuple(lock.seats.split(","))
            await self._bump(connection, lock.show_id)
            if lock.state == "released" or _aware(lock.expires_at) <= _aware(now):
                await self._refuse_taken(connection, lock.show_id, labels, now, except_lock=lock_id)
                raise LockExpired("the lock ran out or was released")
            ticket_id = f"T-{uuid.uuid4().hex[:10].upper()}"
            await connection.execute(
                insert(tickets).values(
                    id=ticket_id,
                    show_id=lock.show_id,
                    application=self.application,
                    reference=reference,
                    seats=lock.seats,
                    amount=lock.amount,
                    currency=lock.currency,
                    cancelled=False,
                    created_at=now,
                )
            )
            await connection.execute(
                update(seat_claims)
                .where(seat_claims.c.lock_id == lock_id)
                .values(lock_id=None, ticket_id=ticket_id, expires_at=None)
            )
            await connection.execute(
                update(seat_locks)
                .where(seat_locks.c.id == lock_id)
                .values(state="committed", ticket_id=ticket_id)
            )
            return Sale(ticket_id, labels)

        return await self._run("commit", write)

    async def cancel_ticket(self, ticket_id: str, idempotency_key: str) -> None:
        """Cancel one of our tickets before its show starts, freeing its seats; cancelling twice is fine."""

        async def write(connection: AsyncConnection) -> None:
            ticket = (
                await connection.execute(
                    select(tickets).where(
                        tickets.c.id == ticket_id, tickets.c.application == self.application
                    )
                )
            ).first()
            if ticket is None:
                raise TheatreRejected(404, "ticket_not_found", f"no ticket {ticket_id}")
            if ticket.cancelled:
                return
            await self._open_show(connection, ticket.show_id, self._now(), closed="show_started")
            await self._bump(connection, ticket.show_id)
            await connection.execute(delete(seat_claims).where(seat_claims.c.ticket_id == ticket_id))
            await connection.execute(update(tickets).where(tickets.c.id == ticket_id).values(cancelled=True))

        await self._run("cancel_ticket", write)

    # -- the pieces of the transactions -----------------------------------------------------------

    def _now(self) -> datetime:
        return _naive(self._clock())

    async def _open_show(
        self, connection: AsyncConnection, show_id: str, now: datetime, *, closed: str
    ) -> Row[Any]:
        show = (await connection.execute(select(shows).where(shows.c.id == show_id))).first()
        if show is None:
            raise TheatreRejected(404, "show_not_found", f"no show {show_id}")
        if show.starts_at <= now:
            raise TheatreRejected(422, closed, "the show has started")
        return show

    async def _bump(self, connection: AsyncConnection, show_id: str) -> None:
        """Count a change of the show; its row lock queues the show's writers until this one commits."""
        await connection.execute(
            update(shows).where(shows.c.id == show_id).values(version=shows.c.version + 1)
        )

    async def _refuse_taken(
        self,
        connection: AsyncConnection,
        show_id: str,
        labels: Sequence[str],
        now: datetime,
        *,
        except_lock: str | None = None,
    ) -> None:
        """Raise SeatsUnavailable naming which of `labels` a ticket (sold) or another live lock holds."""
        live = or_(seat_claims.c.ticket_id.is_not(None), seat_claims.c.expires_at > now)
        query = select(seat_claims.c.seat, seat_claims.c.ticket_id).where(
            seat_claims.c.show_id == show_id, seat_claims.c.seat.in_(labels), live
        )
        if except_lock is not None:
            query = query.where(or_(seat_claims.c.lock_id.is_(None), seat_claims.c.lock_id != except_lock))
        held = {claim.seat: claim.ticket_id is not None for claim in await connection.execute(query)}
        if held:
            taken = [label for label in labels if label in held]
            raise SeatsUnavailable(taken, sold=[label for label in taken if held[label]])

    async def _our_lock(self, connection: AsyncConnection, lock_id: str) -> Row[Any]:
        lock = (await connection.execute(_OUR_LOCK, {"lock": lock_id, "app": self.application})).first()
        if lock is None:
            raise TheatreRejected(404, "lock_not_found", f"no lock {lock_id}")
        return lock

    async def _replay(
        self, connection: AsyncConnection, lock_id: str, show_id: str, seats: str, reference: str
    ) -> Lock:
        """The lock taken earlier under the same request key, if it was this same request."""
        earlier = (await connection.execute(select(seat_locks).where(seat_locks.c.id == lock_id))).one()
        if (earlier.show_id, earlier.seats, earlier.reference) != (show_id, seats, reference):
            raise TheatreRejected(422, "idempotency_key_reused", "that key was used for another lock")
        return Lock(earlier.id, _aware(earlier.expires_at), int(earlier.amount), earlier.currency)

    async def _sale(self, connection: AsyncConnection, ticket_id: str) -> Sale:
        ticket = (await connection.execute(select(tickets).where(tickets.c.id == ticket_id))).one()
        return Sale(ticket.id, tuple(ticket.seats.split(",")))

    # -- running a transaction ----------------------------------------------------------------------

    async def _run(self, what: str, operation: Operation[T], *, budget: float | None = None) -> T:
        """One call through the breaker within its time budget: any answer closes it, failures count."""
        if not self.breaker.allow():
            wait = self.breaker.seconds_until_probe()
            raise TheatreUnavailable(
                "circuit_open", f"{self.name}: not called for {wait:.1f}s more after failures"
            )
        try:
            async with asyncio.timeout(budget or self.timeout):
                result = await self._attempts(operation)
        except TheatreError:
            self.breaker.record_success()
            raise
        except TimeoutError:
            failure = TheatreUnavailable("timeout", f"{self.name}: no answer in time")
        except (DBAPIError, OSError) as exc:
            failure = TheatreUnavailable(_reason(exc), f"{self.name}: {_first_line(exc)}")
        else:
            self.breaker.record_success()
            return result
        self.breaker.record_failure()
        log.warning("theatre %s: %s failed: %s", self.name, what, failure)
        raise failure

    async def _attempts(self, operation: Operation[T]) -> T:
        """The operation in one transaction, again after a deadlock or a lost race on a key."""
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self.engine.begin() as connection:
                    return await operation(connection)
            except DBAPIError as exc:
                if attempt >= 5 or not (isinstance(exc, IntegrityError) or _transient(exc)):
                    raise
            await asyncio.sleep(0.005 * attempt * random.uniform(0.5, 1.0))


def theatre_engine(database_url: str, *, timeout: float, pool_size: int) -> AsyncEngine:
    """An engine with a small pool whose waits (for a connection, a row lock, a busy file) end in time."""
    url = make_url(database_url)
    if url.drivername not in THEATRE_DATABASE_DRIVERS:
        raise ValueError(f"database_url: use one of {', '.join(THEATRE_DATABASE_DRIVERS)}")
    wait_ms = max(1, int(timeout * 1000))
    options: dict[str, Any] = {}
    connect_args: dict[str, Any] = {}
    if url.drivername.startswith("sqlite"):
        # SQLite lets one writer in at a time: our calls queue for one connection, in order, rather than
        # in SQLite's busy handler, which sleeps between tries.
        connect_args["timeout"] = timeout
        options.update(pool_size=1, max_overflow=0, pool_timeout=timeout)
    else:
        options.update(
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=timeout,
            pool_recycle=300,
        )
        options["isolation_level"] = "READ COMMITTED"
        if url.drivername.startswith("postgresql"):
            connect_args["timeout"] = timeout
            connect_args["server_settings"] = {
                "lock_timeout": str(wait_ms),
                "statement_timeout": str(wait_ms * 30),
                "application_name": "marquee",
            }
        else:
            connect_args["connect_timeout"] = max(1, round(timeout))
            connect_args["init_command"] = f"SET SESSION innodb_lock_wait_timeout = {max(1, round(timeout))}"
    return create_async_engine(url, connect_args=connect_args, **options)


def _naive(moment: datetime) -> datetime:
    """A time as the database keeps it: UTC without a zone."""
    if moment.tzinfo is None:
        raise ValueError("pass an aware datetime")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime) -> datetime:
    """A time read from the database (UTC without a zone) as an aware UTC datetime."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _transient(exc: DBAPIError) -> bool:
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    args = getattr(orig, "args", ())
    mysql_code = args[0] if args and isinstance(args[0], int) else None
    return (
        code in _TRANSIENT_SQLSTATES
        or mysql_code in _TRANSIENT_MYSQL_ERRORS
        or "database is locked" in str(orig)
    )


def _reason(exc: BaseException) -> str:
    """connection for a database that cannot be reached or dropped us, server_error for the rest."""
    if isinstance(exc, OSError | OperationalError | InterfaceError):
        return "connection"
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return "connection"
    return "server_error"


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return f"{type(orig).__name__}: {str(orig).splitlines()[0] if str(orig) else ''}"

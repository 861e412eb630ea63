"""Syncing connected theatres' schedules into our catalogue (DESIGN.md section 10).

A theatre's schedule for the coming days becomes a catalogue (docs/catalogue-format.md) of that
theatre's cinemas, with its movie and show ids stored as "<system>:<id>", and the catalogue importer
takes it all or nothing: one bad row refuses the whole sync, changes nothing, and is reported by the
theatre's own id. The import invalidates the listing caches and withdraws (takes off sale) every
upcoming show of the theatre's cinemas that the schedule no longer lists. Bookings of a withdrawn show
that are still open are settled here: unpaid ones are cancelled (their provider checkouts are returned
for expiring), paid ones still waiting for the theatre are refunded. Confirmed tickets of a withdrawn
show are the theatre's to cancel, so they are only counted in the report.

One process syncs a theatre at a time (a Redis lease per system); the others skip it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from booking_core import metrics
from booking_core.bookings.checkout import OpenCheckout, PaymentStatus
from booking_core.bookings.theatre_commits import CommitState, refund_waiting_booking
from booking_core.catalogue import (
    CatalogueCache,
    ImportReport,
    InvalidCatalogue,
    import_catalogue,
    parse_catalogue,
)
from booking_core.catalogue.errors import RowProblem
from booking_core.catalogue.file_format import FORMAT_VERSION
from booking_core.database import SessionFactory
from booking_core.events import EventSink, RefundStarted
from booking_core.holds.store import HoldStore
from booking_core.models import (
    Booking,
    BookingStatus,
    Cinema,
    City,
    Hall,
    Payment,
    Show,
    TheatreCommit,
    utc_now,
)
from booking_core.theatre.port import (
    ScheduleRefused,
    TheatreError,
    TheatreHall,
    TheatreSchedule,
    TheatreShow,
    TheatreSystem,
)
from booking_core.theatre.shows import stored_id, theatre_id

log = logging.getLogger(__name__)

DEFAULT_DAYS = 14
MAX_WINDOW = timedelta(days=62)  # the Theatre API's limit
WITHDRAWN = "the cinema withdrew the show"
SYNC_LEASE_SECONDS = 300
SYNC_LEASE_KEY = "marquee:theatre-sync:{}"


@dataclass(frozen=True)
class WithdrawnBookings:
    """What became of the open bookings of the shows a sync withdrew."""

    cancelled: int = 0  # awaiting payment: cancelled
    refunded: int = 0  # paid, waiting for the theatre: refunded
    confirmed: int = 0  # ticketed by the theatre: left to the theatre
    checkouts_to_expire: tuple[OpenCheckout, ...] = ()


@dataclass(frozen=True)
class TheatreSyncReport:
    """One theatre's sync: what it imported, or why nothing was (`problems` by the theatre's ids)."""

    system: str
    imported: ImportReport | None = None
    problems: tuple[str, ...] = ()
    error: str | None = None  # the theatre could not be asked, or answered nonsense
    withdrawn: WithdrawnBookings = field(default_factory=WithdrawnBookings)
    skipped: bool = False  # another process was syncing this theatre

    @property
    def ok(self) -> bool:
        """True when the schedule was taken (or another process is taking it)."""
        return self.error is None and not self.problems

    def summary(self) -> str:
        """One line for a person."""
        if self.skipped:
            return f"{self.system}: being synced by another process"
        if self.error is not None:
            return f"{self.system}: nothing changed, the theatre could not be read: {self.error}"
        if self.problems:
            listed = "; ".join(self.problems[:10])
            more = f" (and {len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
            rows = "1 bad row" if len(self.problems) == 1 else f"{len(self.problems)} bad rows"
            return f"{self.system}: nothing changed, {rows}: {listed}{more}"
        assert self.imported is not None
        line = f"{self.system}: {self.imported.summary()}"
        gone = self.withdrawn
        if gone.cancelled or gone.refunded or gone.confirmed:
            line += (
                f"; bookings of withdrawn shows: {gone.cancelled} cancelled, {gone.refunded} refunded, "
                f"{gone.confirmed} ticketed (the theatre's to cancel)"
            )
        return line


async def sync_theatres(
    sessions: SessionFactory,
    holds: HoldStore,
    *,
    cache: CatalogueCache,
    events: EventSink,
    lease: aioredis.Redis | None = None,
    now: datetime | None = None,
    days: int = DEFAULT_DAYS,
) -> list[TheatreSyncReport]:
    """Sync every configured theatre (one failing leaves the others alone); `lease` guards each one."""
    theatre = holds.theatre
    if theatre is None:
        return []
    now = now or utc_now()
    reports = []
    for name, system in sorted(theatre.systems.items()):
        key, token = SYNC_LEASE_KEY.format(name), secrets.token_hex(8)
        if lease is not None and not await lease.set(key, token, nx=True, ex=SYNC_LEASE_SECONDS):
            reports.append(TheatreSyncReport(name, skipped=True))
            continue
        try:
            reports.append(
                await sync_theatre(
                    sessions, holds, name, system, cache=cache, events=events, now=now, days=days
                )
            )
        finally:
            if lease is not None and await lease.get(key) == token:
                await lease.delete(key)
    return reports


async def sync_theatre(
    sessions: SessionFactory,
    holds: HoldStore,
    name: str,
    system: TheatreSystem,
    *,
    cache: CatalogueCache,
    events: EventSink,
    now: datetime,
    days: int = DEFAULT_DAYS,
) -> TheatreSyncReport:
    """Take theatre `name`'s schedule for the next `days` days into the catalogue, all or nothing.

    The window reaches at least as far as the shows already on sale (up to the Theatre API's 62 days):
    a show missing from the schedule is withdrawn, so one merely beyond a shortened window must not be.
    """
    until = min(max(now + timedelta(days=days), await _last_show_on_sale(sessions, name)), now + MAX_WINDOW)
    try:
        schedule = await system.schedule(now, until)
    except ScheduleRefused as refused:
        log.warning("theatre %s: schedule refused, nothing changed: %s", name, refused)
        metrics.THEATRE_SYNCS.labels(system=name, result="refused").inc()
        return TheatreSyncReport(name, problems=refused.problems)
    except TheatreError as exc:
        log.warning("theatre %s: schedule not synced: %s", name, exc)
        metrics.THEATRE_SYNCS.labels(system=name, result="unreadable").inc()
        return TheatreSyncReport(name, error=str(exc))
    data = schedule_catalogue(name, schedule, await _known_cities(sessions, schedule))
    try:
        report = await import_catalogue(sessions, parse_catalogue(data), cache=cache, now=now)
    except InvalidCatalogue as invalid:
        problems = tuple(_by_theatre_id(problem, data, name) for problem in invalid.problems)
        log.warning("theatre %s: schedule refused, nothing changed: %s", name, "; ".join(problems[:5]))
        metrics.THEATRE_SYNCS.labels(system=name, result="refused").inc()
        return TheatreSyncReport(name, problems=problems)
    withdrawn = WithdrawnBookings()
    if report.withdrawn_show_ids:
        withdrawn = await _settle_withdrawn(sessions, events, report.withdrawn_show_ids, now)
    if report.changed:
        await _forget_cached_shows(sessions, holds, name, now)
    log.info("theatre %s: %s", name, report.summary())
    metrics.THEATRE_SYNCS.labels(system=name, result="synced").inc()
    return TheatreSyncReport(name, imported=report, withdrawn=withdrawn)


def schedule_catalogue(
    system: str, schedule: TheatreSchedule, known_cities: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The theatre's schedule as a catalogue file; cities we know keep their own coordinates."""
    cities: dict[str, Mapping[str, Any]] = {}
    for cinema in schedule.cinemas:
        cities.setdefault(
            cinema.city,
            known_cities.get(cinema.city)
            or {
                "name": cinema.city,
                "latitude": cinema.latitude,
                "longitude": cinema.longitude,
                "timezone": cinema.timezone,
            },
        )
    hall_names = {hall.external_id: hall.name for hall in schedule.halls}
    return {
        "version": FORMAT_VERSION,
        "cities": list(cities.values()),
        "cinemas": [
            {
                "id": cinema.external_id,
                "name": cinema.name,
                "city": cinema.city,
                "address": cinema.address,
                "latitude": cinema.latitude,
                "longitude": cinema.longitude,
                "timezone": cinema.timezone,
                "system": system,
            }
            for cinema in schedule.cinemas
        ],
        "halls": [
            {
                "cinema": hall.cinema_external_id,
                "id": hall.external_id,
                "name": hall.name,
                "rows": _rows(hall),
            }
            for hall in schedule.halls
        ],
        "movies": [
            {
                "id": stored_id(system, movie.external_id),
                "title": movie.title,
                "runtime_minutes": movie.runtime_minutes,
                "age_rating": movie.age_rating,
                "language": movie.language,
                "synopsis": movie.synopsis,
            }
            for movie in schedule.movies
        ],
        "shows": [
            {
                "id": stored_id(system, show.external_id),
                "cinema": show.cinema_external_id,
                "hall": hall_names[show.hall_external_id],
                "movie": stored_id(system, show.movie_external_id),
                "starts_at": show.starts_at.isoformat(),
                "currency": show.currency,
                "prices": dict(show.prices),
                **_sale(show),
            }
            for show in schedule.shows
        ],
    }


def _sale(show: TheatreShow) -> dict[str, Any]:
    """A premiere's on-sale time and queue, where the theatre gives them."""
    if show.on_sale_at is None:
        return {}
    return {"on_sale_at": show.on_sale_at.isoformat(), "queue": show.queue}


def _rows(hall: TheatreHall) -> list[dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    for seat in sorted(hall.seats, key=lambda seat: (seat.row_index, seat.number)):
        row = rows.setdefault(seat.row_index, {"label": seat.row_label, "seats": []})
        row["seats"].append({"number": seat.number, "column": seat.column, "category": seat.category})
    return [rows[index] for index in sorted(rows)]


async def _last_show_on_sale(sessions: SessionFactory, system: str) -> datetime:
    """Just after the start of the system's last show on sale (the distant past if it has none)."""
    async with sessions() as session:
        last = await session.scalar(
            select(func.max(Show.starts_at))
            .join(Hall, Hall.id == Show.hall_id)
            .join(Cinema, Cinema.id == Hall.cinema_id)
            .where(Cinema.system == system, Show.on_sale.is_(True))
        )
    return datetime.min.replace(tzinfo=UTC) if last is None else last + timedelta(seconds=1)


async def _known_cities(sessions: SessionFactory, schedule: TheatreSchedule) -> dict[str, dict[str, Any]]:
    names = sorted({cinema.city for cinema in schedule.cinemas})
    async with sessions() as session:
        cities = await session.scalars(select(City).where(City.name.in_(names)))
        return {
            city.name: {
                "name": city.name,
                "latitude": city.latitude,
                "longitude": city.longitude,
                "timezone": city.timezone,
            }
            for city in cities
        }


def _by_theatre_id(problem: RowProblem, data: Mapping[str, Any], system: str) -> str:
    """A problem named by the theatre's own id of its row, e.g. "show riverside-1-...: prices...: ..."."""
    section, _, rest = problem.row.partition("[")
    index = rest.rstrip("]")
    rows = data.get(section)
    if section not in _ROW_NAMES or not index.isdigit() or not isinstance(rows, list):
        return str(problem)
    row = rows[int(index)]
    key = row["name"] if section in ("cities", "halls") else theatre_id(system, str(row["id"]))
    return f"{_ROW_NAMES[section]} {key} ({problem.path}): {problem.message}"


_ROW_NAMES = {"cities": "city", "cinemas": "cinema", "halls": "hall", "movies": "movie", "shows": "show"}


async def _settle_withdrawn(
    sessions: SessionFactory, events: EventSink, show_ids: tuple[int, ...], now: datetime
) -> WithdrawnBookings:
    open_statuses = (BookingStatus.PENDING_PAYMENT, BookingStatus.PAID_UNCONFIRMED, BookingStatus.CONFIRMED)
    refunds: list[RefundStarted] = []
    cancelled: list[int] = []
    confirmed = 0
    async with sessions() as session, session.begin():
        bookings = await session.scalars(
            select(Booking)
            .where(Booking.show_id.in_(show_ids), Booking.status.in_(open_statuses))
            .options(selectinload(Booking.customer))
            .order_by(Booking.id)
            .with_for_update()
        )
        for booking in bookings:
            if booking.status == BookingStatus.PENDING_PAYMENT:
                booking.status = BookingStatus.CANCELLED
                booking.status_reason = WITHDRAWN
                cancelled.append(booking.id)
            elif booking.status == BookingStatus.PAID_UNCONFIRMED:
                refunds.append(await refund_waiting_booking(session, booking, WITHDRAWN))
                waiting = await session.get(TheatreCommit, booking.id)
                if waiting is not None:
                    # Whatever the theatre may still hold for it is undone by the retry pass.
                    waiting.state = CommitState.RELEASING
                    waiting.next_attempt_at = now
            else:
                confirmed += 1
        checkouts = await session.scalars(
            select(Payment)
            .where(Payment.booking_id.in_(cancelled), Payment.status == PaymentStatus.OPEN)
            .order_by(Payment.id)
        )
        to_expire = tuple(OpenCheckout(p.booking_id, p.provider, p.checkout_id) for p in checkouts)
    for refund in refunds:
        await events.publish(refund)
    if confirmed:
        log.warning(
            "%s confirmed bookings belong to withdrawn shows %s: the theatre's to cancel", confirmed, show_ids
        )
    return WithdrawnBookings(len(cancelled), len(refunds), confirmed, to_expire)


async def _forget_cached_shows(
    sessions: SessionFactory, holds: HoldStore, system: str, now: datetime
) -> None:
    """Make holds read the changed shows (start, sale status, seats) from SQL again."""
    async with sessions() as session:
        show_ids = list(
            await session.scalars(
                select(Show.id)
                .join(Hall, Hall.id == Show.hall_id)
                .join(Cinema, Cinema.id == Hall.cinema_id)
                .where(Cinema.system == system, Show.starts_at > now - timedelta(days=1))
            )
        )
    for show_id in show_ids:
        await holds.forget_inventory(show_id)
    if holds.theatre is not None:
        holds.theatre.shows.forget()

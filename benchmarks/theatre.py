"""Benchmark: hold attempts per second at connected cinemas, one linked by its API (the sandbox theatre
over real HTTP) and one by its database (Theatre DB v1), with a local cinema's figure from the same run
as the baseline.

    python -m benchmarks.theatre         # embedded Redis and a SQLite file; REDIS_URL=redis://... for another
    BENCH_CLIENTS=16 BENCH_SECONDS=8     # the defaults: concurrent users, seconds per phase
    BENCH_THEATRE_DATABASE_URL=...       # the linked theatre database (default: a SQLite file; an empty
                                         # PostgreSQL or MariaDB database gets the tables)

The system is the production wiring (roles/resources.open_core) with THEATRE_SYSTEMS pointing at the
sandbox theatre, run in a process of its own as a theatre's server would be; its schedule is synced
first. Each client is one user who keeps re-holding a random block of 1-3 adjacent seats of one show:
every attempt replaces their previous selection, so at the connected cinema it is our Redis hold, then
releasing the previous theatre lock and taking a new one (two HTTP calls). Meanwhile the theatre's box
office sells a seat four times a second. The local phase runs the same clients and seat choices
against an identical hall of a local cinema. The database phase is the connected one again, at the
database-linked cinema, whose till sells straight into the theatre database.
Then every client pays for what they hold, and the sales are counted: a seat in two tickets at the
theatre, or a ticket or seat the theatre and we disagree about, is a double sale.
The baseline (the local cinema) does the same hold work in our Redis (the same script, clients, seat
choices and an identical hall); it does NOT call the theatre (no lock, no release over HTTP or SQL, no
status reads), so each ratio is the price of that cinema's link per attempt.
Last line: RESULT connected_holds_per_s= local_holds_per_s= ratio= p99_ms= database_holds_per_s=
database_ratio= database_p99_ms= double_sales=0 (both connected cinemas together)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks._load import p99, run_clients
from booking_core.bookings.checkout import CheckoutStarted
from booking_core.bookings.customers import get_or_create_customer
from booking_core.catalogue import import_catalogue, parse_catalogue
from booking_core.events import CollectingSink
from booking_core.holds.store import Hold
from booking_core.models import BookedSeat, Booking, BookingLine, Seat, Show, Ticket, utc_now
from roles.redis_server import open_redis
from roles.resources import Core, open_core
from sandbox.theatre import SANDBOX_TOKEN
from sandbox.theatre_db import boxoffice
from sandbox.theatre_db.boxoffice import BoxOfficeRefusal
from sandbox.theatre_db.seed import open_theatre_database
from tests.support.database import fresh_schema
from tests.support.sales import provider_event
from tests.support.settings import stand_settings
from workers.theatre import sync_theatres

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
PHASE_SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
BOX_OFFICE_EVERY_SECONDS = 0.25
THEATRE = "northlight"
DATABASE_THEATRE = "elbe"
HALL = "riverside-1"  # rows A-H of 12 seats, aisle after 6 (the local hall copies it)
ROWS, SEATS_PER_ROW = "ABCDEFGH", 12
FIRST_USER = 5000
ROOT = Path(__file__).resolve().parents[1]


def seat_choices(seed: int, count: int) -> list[list[str]]:
    """The same random blocks of 1-3 adjacent seats (as labels) for both phases."""
    rng = random.Random(seed)
    choices = []
    for _ in range(count):
        size = rng.randint(1, 3)
        row, start = rng.choice(ROWS), rng.randint(1, SEATS_PER_ROW - size + 1)
        choices.append([f"{row}{start + k}" for k in range(size)])
    return choices


def local_catalogue(starts_in: timedelta) -> dict[str, Any]:
    """A local cinema with a hall like the theatre's big one and one show."""
    layout = "SSSSSS_SSSSSS"
    return {
        "version": 1,
        "cities": [{"name": "Benchburg", "latitude": 52.0, "longitude": 13.0, "timezone": "Europe/Berlin"}],
        "cinemas": [
            {
                "id": "bench-local",
                "name": "Bench Local",
                "city": "Benchburg",
                "address": "1 Test Street",
                "latitude": 52.0,
                "longitude": 13.0,
                "timezone": "Europe/Berlin",
            }
        ],
        "halls": [
            {
                "cinema": "bench-local",
                "name": "Big",
                "rows": [{"label": row, "layout": layout} for row in ROWS],
            }
        ],
        "movies": [
            {
                "id": "bench-movie",
                "title": "Bench",
                "runtime_minutes": 90,
                "age_rating": "0",
                "language": "en",
            }
        ],
        "shows": [
            {
                "id": "bench-local-show",
                "cinema": "bench-local",
                "hall": "Big",
                "movie": "bench-movie",
                "starts_at": (utc_now() + starts_in).isoformat(),
                "currency": "EUR",
                "prices": {"standard": 1000},
            }
        ],
    }


async def seat_ids(core: Core, show_id: int) -> dict[str, int]:
    """Our seat ids of a show's hall by label."""
    async with core.sessions() as session:
        hall_id = await session.scalar(select(Show.hall_id).where(Show.id == show_id))
        seats = await session.scalars(select(Seat).where(Seat.hall_id == hall_id))
        return {seat.label: seat.id for seat in seats}


async def holds_phase(
    core: Core, show_id: int, choices: list[list[str]], box_office: Callable[[], Awaitable[None]] | None
) -> dict[str, float]:
    """Every client re-holding seats of one show for PHASE_SECONDS; attempts/s, granted, p99."""
    labels = await seat_ids(core, show_id)
    warm = await core.holds.hold(show_id, FIRST_USER - 1, [labels["A1"]])
    assert isinstance(warm, Hold), warm
    await core.holds.release(show_id, warm.token)
    granted = 0
    stop = asyncio.Event()

    async def work(client: int, i: int) -> None:
        nonlocal granted
        seats = [labels[label] for label in choices[(client * 7919 + i) % len(choices)]]
        result = await core.holds.hold(show_id, FIRST_USER + client, seats)
        granted += isinstance(result, Hold)

    async def sell_at_the_till() -> None:
        while box_office is not None and not stop.is_set():
            await box_office()
            await asyncio.sleep(BOX_OFFICE_EVERY_SECONDS)

    till = asyncio.create_task(sell_at_the_till())
    started = time.perf_counter()
    latencies = await run_clients(work, started + PHASE_SECONDS, CLIENTS)
    elapsed = time.perf_counter() - started
    stop.set()
    await till
    return {
        "per_s": len(latencies) / elapsed,
        "attempts": len(latencies),
        "granted": granted,
        "p50": statistics.median(latencies),
        "p99": p99(latencies),
    }


async def pay_for_every_hold(core: Core, show_id: int) -> Counter[str]:
    """Each client checks out and pays for their current hold; outcomes by name."""
    outcomes: Counter[str] = Counter()
    for client in range(CLIENTS):
        hold = await core.holds.current_hold(show_id, FIRST_USER + client)
        if hold is None:
            continue
        started = await core.bookings.start_checkout(hold)
        if not isinstance(started, CheckoutStarted):
            outcomes[started.reason.value] += 1
            continue
        checkout_id = f"cs_bench_{started.booking_id}_{secrets.token_hex(3)}"
        await core.bookings.record_checkout(started.booking_id, "stripe", checkout_id, "http://127.0.0.1/")
        event = provider_event(
            checkout_id, started.booking_id, started.amount_minor, currency=started.currency
        )
        outcomes[(await core.bookings.confirm_payment(event)).outcome.value] += 1
    return outcomes


@asynccontextmanager
async def theatre_server(workdir: Path) -> AsyncIterator[tuple[str, Path]]:
    """The sandbox theatre in a process of its own; its base URL and its database file."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = workdir / "theatre.db"
    command = [sys.executable, "-m", "sandbox.theatre", "--port", str(port), "--db", str(database)]
    process = await asyncio.create_subprocess_exec(*command, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.readline(), timeout=30)  # "Theatre API v1 at ..."
        yield f"http://127.0.0.1:{port}", database
    finally:
        process.terminate()
        await process.wait()


TheatreTickets = dict[str, tuple[bool, list[str]]]  # ticket id -> (sold through Marquee?, seats)


def theatre_tickets(database: Path, theatre_show: str) -> TheatreTickets:
    """The API theatre's valid tickets of the show, read from its database."""
    tickets: TheatreTickets = {}
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as sql:
        rows = sql.execute(
            "SELECT t.id, t.reference, s.label FROM tickets t JOIN ticket_seats s ON s.ticket_id = t.id"
            " WHERE t.show_id = ? AND t.status = 'valid' ORDER BY s.label",
            (theatre_show,),
        )
        for ticket_id, reference, label in rows:
            tickets.setdefault(ticket_id, (reference.startswith("marquee-"), []))[1].append(label)
    return tickets


async def database_tickets(theatre_database: AsyncEngine, theatre_show: str) -> TheatreTickets:
    """The database-linked theatre's valid tickets of the show."""
    return {
        str(ticket["id"]): (ticket["application"] == "marquee", str(ticket["seats"]).split(","))
        for ticket in await boxoffice.tickets(theatre_database, theatre_show)
        if not ticket["cancelled"]
    }


async def double_sales(core: Core, tickets: TheatreTickets, show_id: int) -> int:
    """Seats sold twice at the theatre, plus tickets and seats the theatre and we disagree about."""
    sold = Counter(seat for _ours, seats in tickets.values() for seat in seats)
    twice = sum(count - 1 for count in sold.values() if count > 1)
    theirs = {ticket: sorted(seats) for ticket, (ours, seats) in tickets.items() if ours}
    async with core.sessions() as session:
        rows = await session.execute(
            select(Ticket.theatre_ticket_id, Seat.row_label, Seat.number)
            .join(Booking, Booking.id == Ticket.booking_id)
            .join(BookingLine, BookingLine.booking_id == Booking.id)
            .join(Seat, Seat.id == BookingLine.seat_id)
            .where(Booking.show_id == show_id, Ticket.cancelled_at.is_(None))
        )
        ours: dict[str, list[str]] = {}
        for ticket_id, row_label, number in rows:
            ours.setdefault(str(ticket_id), []).append(f"{row_label}{number}")
        booked = await session.execute(
            select(Seat.row_label, Seat.number)
            .join(BookedSeat, BookedSeat.seat_id == Seat.id)
            .where(BookedSeat.show_id == show_id)
        )
        booked_labels = sorted(f"{row_label}{number}" for row_label, number in booked)
    ours = {ticket: sorted(seats) for ticket, seats in ours.items()}
    disagreeing = set(theirs) ^ set(ours) | {t for t in set(theirs) & set(ours) if theirs[t] != ours[t]}
    ours_seats = sorted(seat for seats in ours.values() for seat in seats)
    return twice + len(disagreeing) + len(set(ours_seats) ^ set(booked_labels))


async def main() -> None:
    """Set everything up, run the three phases, pay, count, print."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-theatre-"))
    endpoint = open_redis(os.environ.get("REDIS_URL"), workdir)
    database_url = f"sqlite+aiosqlite:///{workdir / 'marquee.db'}"
    await fresh_schema(database_url)
    linked_url = (
        os.environ.get("BENCH_THEATRE_DATABASE_URL") or f"sqlite+aiosqlite:///{workdir / 'theatre-db.sqlite'}"
    )
    linked = await open_theatre_database(linked_url, datetime.now(UTC))
    try:
        async with theatre_server(workdir) as (base_url, theatre_database):
            settings = stand_settings(
                database_url,
                DATA_DIR=workdir,
                THEATRE_SYSTEMS={
                    THEATRE: {"base_url": base_url, "token": SANDBOX_TOKEN},
                    DATABASE_THEATRE: {"database_url": linked_url},
                },
                THEATRE_TIMEOUT_SECONDS=10,
                HOLD_ATTEMPTS_PER_MINUTE=10**9,
            )
            async with (
                open_core(settings, endpoint.url, CollectingSink()) as core,
                aiohttp.ClientSession() as http,
            ):
                figures = await measure(core, http, base_url, theatre_database, linked)
        report(*figures)
    finally:
        await linked.dispose()
        endpoint.stop()


async def connected_show(core: Core, system: str) -> tuple[int, str]:
    """(our id, the theatre's id) of the first show in the big hall of `system` starting after a day."""
    async with core.sessions() as session:
        show_id, external_id = (
            await session.execute(
                select(Show.id, Show.external_id)
                .where(
                    Show.external_id.like(f"{system}:{HALL}-%"),
                    Show.starts_at > utc_now() + timedelta(days=1),
                )
                .order_by(Show.starts_at)
                .limit(1)
            )
        ).one()
    return show_id, external_id.removeprefix(f"{system}:")


async def measure(
    core: Core, http: aiohttp.ClientSession, base_url: str, theatre_database: Path, linked: AsyncEngine
) -> tuple[dict[str, float], dict[str, float], dict[str, float], Counter[str], int]:
    """Sync, build the local twin, run the three phases, pay and count the double sales."""
    for synced in await sync_theatres(core):
        assert synced.ok, synced.summary()
    await import_catalogue(core.sessions, parse_catalogue(local_catalogue(timedelta(days=1))))
    async with core.sessions() as session:
        local_show = await session.scalar(select(Show.id).where(Show.external_id == "bench-local-show"))
    assert local_show is not None
    api_show, theatre_show = await connected_show(core, THEATRE)
    database_show, linked_show = await connected_show(core, DATABASE_THEATRE)
    for client in range(CLIENTS):
        await get_or_create_customer(core.sessions, FIRST_USER + client, chat_id=FIRST_USER + client)
    till = random.Random(11)

    def a_seat() -> str:
        return f"{till.choice(ROWS)}{till.randint(1, SEATS_PER_ROW)}"

    async def box_office() -> None:
        async with http.post(
            f"{base_url}/boxoffice/shows/{theatre_show}/sell", json={"seats": [a_seat()]}
        ) as answer:
            await answer.read()

    async def database_box_office() -> None:
        with contextlib.suppress(BoxOfficeRefusal):
            await boxoffice.sell(linked, linked_show, [a_seat()])

    choices = seat_choices(seed=7, count=10_000)
    connected = await holds_phase(core, api_show, choices, box_office)
    database = await holds_phase(core, database_show, choices, database_box_office)
    local = await holds_phase(core, local_show, choices, None)
    paid = await pay_for_every_hold(core, api_show) + await pay_for_every_hold(core, database_show)
    doubles = await double_sales(core, theatre_tickets(theatre_database, theatre_show), api_show)
    doubles += await double_sales(core, await database_tickets(linked, linked_show), database_show)
    return connected, database, local, paid, doubles


def report(
    connected: dict[str, float],
    database: dict[str, float],
    local: dict[str, float],
    paid: Counter[str],
    doubles: int,
) -> None:
    """Print the figures, the RESULT line last."""
    ratio = connected["per_s"] / local["per_s"]
    print(f"clients={CLIENTS} seats={len(ROWS) * SEATS_PER_ROW} seconds_per_phase={PHASE_SECONDS:g}")
    for name, phase in (("connected (API)", connected), ("connected (database)", database), ("local", local)):
        print(
            f"{name}: {phase['per_s']:.0f} hold attempts/s ({phase['attempts']:.0f} attempts, "
            f"{phase['granted']:.0f} granted), p50 {phase['p50']:.2f} ms, p99 {phase['p99']:.2f} ms"
        )
    print(f"payments for the holds left at the end: {dict(paid)}")
    print(
        f"RESULT connected_holds_per_s={connected['per_s']:.0f} local_holds_per_s={local['per_s']:.0f} "
        f"ratio={ratio:.3f} p99_ms={connected['p99']:.2f} database_holds_per_s={database['per_s']:.0f} "
        f"database_ratio={database['per_s'] / local['per_s']:.3f} database_p99_ms={database['p99']:.2f} "
        f"double_sales={doubles}"
    )


if __name__ == "__main__":
    asyncio.run(main())

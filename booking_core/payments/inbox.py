"""The payment event inbox: provider webhooks stored once by their event id, then processed by workers.

The web server only stores (`PaymentInbox.store`, many requests' events in one short transaction) and
has the new events' jobs sent once they are committed; a worker reads the stored body back
(`stored_payment_events`) and settles it through `confirmation.confirm_payment`, which writes the
outcome onto the same row. A row with neither `outcome` nor `processed_at` is still owed processing:
`unprocessed_payment_events` lists those, so an event whose job was lost is picked up again; one that
fails every pass of that safety net is parked (`count_pass_or_park`) for a person to look at.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Dialect, Engine, Row, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.batches import Batches
from booking_core.database import (
    POLL_WRITE_LOCK,
    SessionFactory,
    insert_or_skip_on,
    polled_write,
    sqlite_file_engine,
)
from booking_core.models import PaymentEvent as PaymentEventRow
from booking_core.models import utc_now
from booking_core.payments.port import PaymentEvent

# Written when an event can never be processed (say, an unreadable stored body); it is not retried.
FAILED_OUTCOME = "failed"
# Written when an event failed every retry of every pass of the safety net (dead-lettered): not retried.
PARKED_OUTCOME = "parked"
ERROR_MAX_CHARS = 2000
_EVENTS = cast(Table, PaymentEventRow.__table__)
# What a stored event's row is given (the rest are defaults), in this order.
_ROW_COLUMNS = ("provider", "event_id", "event_type", "payload", "received_at")
# Sends the jobs of newly stored events (their row ids); blocking: it is called in a worker thread.
SendJobs = Callable[[list[int]], None]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredPaymentEvent:
    """A row of the inbox as a worker needs it."""

    id: int
    provider: str
    event_id: str
    event_type: str
    payload: str
    received_at: datetime
    processed_at: datetime | None
    outcome: str | None


async def store_payment_event(sessions: SessionFactory, event: PaymentEvent, payload: str) -> int | None:
    """Insert the raw event; its row id, or None when this (provider, event id) was stored before."""
    return (await store_payment_events(sessions, [(event, payload)]))[0]


async def store_payment_events(
    sessions: SessionFactory, events: Sequence[tuple[PaymentEvent, str]]
) -> list[int | None]:
    """Insert raw events in one transaction; for each its row id, or None when stored before.

    A (provider, event id) met twice, here or in the table, is stored once: the first gets the id.
    """
    rows = _event_rows(events)
    bind = sessions.kw.get("bind")
    inserted: Sequence[Row[Any]]
    if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql":
        inserted = await _insert_on_postgresql(bind, rows)
    else:
        async with sessions() as session, session.begin():
            await session.connection(execution_options={POLL_WRITE_LOCK: True})
            inserted = (await session.execute(_inserting(session.get_bind().dialect.name), rows)).all()
    ids = {(row.provider, row.event_id): row.id for row in inserted}
    return _ids_in_order(events, ids)


async def _insert_on_postgresql(engine: AsyncEngine, rows: list[dict[str, object]]) -> Sequence[Row[Any]]:
    """`_inserting` on PostgreSQL, as one statement of the same text whatever the number of rows (the
    rows go as an array per column, so asyncpg prepares it once), run on its own in autocommit.

    A single INSERT is atomic by itself: one round trip, where BEGIN, INSERT and COMMIT were three, and
    22-30% less CPU than the same INSERT in a session's transaction (benchmarks/inbox.py: ratio
    1.28-1.44 for batches of 5 and of 15).
    """
    columns = tuple([row[name] for row in rows] for name in _ROW_COLUMNS)
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        return (await autocommit.exec_driver_sql(_POSTGRESQL_INSERTING, columns)).all()


def _insert_on_sqlite(
    cursor: sqlite3.Cursor, dialect: Dialect, events: Sequence[tuple[PaymentEvent, str]]
) -> list[int | None]:
    """`store_payment_events`' INSERT, written for SQLite and sent straight to the driver, in the
    transaction `cursor` is in (`polled_write`).

    It runs for every batch the web server stores: with the writer thread it costs 2.0-2.6 times less
    CPU per batch than the inbox before, whose batches ran the same INSERT through SQLAlchemy Core
    (benchmarks/inbox.py, batches of 15 and of 5). The arrival time is bound as SQLAlchemy binds it, so
    the row reads back alike.
    """
    rows = _event_rows(events)
    stored_time = _EVENTS.c.received_at.type.bind_processor(dialect)
    values = [
        value if name != "received_at" or stored_time is None else stored_time(value)
        for row in rows
        for name, value in row.items()
    ]
    inserted = cursor.execute(_sqlite_inserting(len(rows)), values).fetchall()
    ids = {(provider, event_id): row_id for provider, event_id, row_id in inserted}
    return _ids_in_order(events, ids)


_POSTGRESQL_INSERTING = (
    f"INSERT INTO {_EVENTS.name} ({', '.join(_ROW_COLUMNS)}) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) "
    "ON CONFLICT (provider, event_id) DO NOTHING RETURNING provider, event_id, id"
)


def _sqlite_inserting(count: int) -> str:
    # `_inserting` for SQLite, as SQL text for `count` rows (the columns in `_event_rows`' order).
    columns = ", ".join(_ROW_COLUMNS)
    row = f"({', '.join('?' for _ in _ROW_COLUMNS)})"
    return (
        f"INSERT INTO {_EVENTS.name} ({columns}) VALUES {', '.join([row] * count)} "
        "ON CONFLICT (provider, event_id) DO NOTHING RETURNING provider, event_id, id"
    )


def _event_rows(events: Sequence[tuple[PaymentEvent, str]]) -> list[dict[str, object]]:
    """The rows to insert: one per (provider, event id), the first of a repeat within the batch."""
    received_at = utc_now()
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for event, payload in events:
        values = (event.provider, event.event_id, event.event_type or event.kind.value, payload, received_at)
        rows.setdefault((event.provider, event.event_id), dict(zip(_ROW_COLUMNS, values, strict=True)))
    return list(rows.values())


def _inserting(dialect_name: str) -> Any:
    # One INSERT ... ON CONFLICT DO NOTHING RETURNING rather than the ORM's unit of work: on SQLite
    # this holds the database's only write lock while it runs. UNIQUE (provider, event_id) skips a
    # redelivery; anything else (database down) propagates. Executed with the rows as parameters:
    # SQLAlchemy sends them as one multi-row INSERT compiled once, whatever their number (rows written
    # into the statement would compile a new one for each batch size).
    return (
        insert_or_skip_on(dialect_name, _EVENTS)
        .on_conflict_do_nothing(index_elements=[_EVENTS.c.provider, _EVENTS.c.event_id])
        .returning(_EVENTS.c.provider, _EVENTS.c.event_id, _EVENTS.c.id)
    )


def _ids_in_order(
    events: Sequence[tuple[PaymentEvent, str]], ids: dict[tuple[str, str], int]
) -> list[int | None]:
    # Only the first of a repeat within the batch is told the id; the rest are redeliveries.
    return [ids.pop((event.provider, event.event_id), None) for event, _payload in events]


class PaymentInbox:
    """Stores webhooks as they arrive, the events of concurrent requests in one transaction each.

    `store` returns once its event's transaction has committed: a provider is answered only for a
    stored event, while concurrent requests share one BEGIN and COMMIT (on SQLite one turn of the
    single write lock) instead of queueing for one each. Should the transaction fail, each of its
    requests gets the error (and answers 503: the provider sends the event again).

    On PostgreSQL (and SQLite in memory) a request's event is written by whichever request takes the
    write turn next, together with every event waiting by then (`Batches`). On a SQLite file one
    thread of the inbox's own writes them all (`_FileWriter`), on a blocking connection of its own.

    Each batch's new events are then handed to `send_jobs` on a sender thread of the inbox's own, while
    their requests are answered: neither a request nor the next batch waits on the broker. A send that
    fails is logged; the events stay unprocessed for the workers' periodic pass. `aclose` waits for the
    sends under way, and closes the inbox's own SQLite connection.
    """

    def __init__(self, sessions: SessionFactory, send_jobs: SendJobs) -> None:
        bind = sessions.kw.get("bind")
        blocking = sqlite_file_engine(bind) if isinstance(bind, AsyncEngine) else None
        self._sessions = sessions
        self._send_jobs = send_jobs
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="payment-inbox-jobs")
        self._file = _FileWriter(blocking, self._hand_over) if blocking is not None else None
        self._batches: Batches[tuple[PaymentEvent, str], int | None] = Batches(self._store_batch)

    async def store(self, event: PaymentEvent, payload: str) -> int | None:
        """Like `store_payment_event`: the row id, or None when this event was stored before."""
        if self._file is not None:
            return await self._file.store(event, payload)
        return await self._batches.submit((event, payload))

    async def _store_batch(self, events: list[tuple[PaymentEvent, str]]) -> list[int | None]:
        ids = await store_payment_events(self._sessions, events)
        self._hand_over(ids)
        return ids

    def _hand_over(self, ids: list[int | None]) -> None:
        # From any thread: the batch's jobs are sent on the sender thread.
        self._sender.submit(self._send, ids)

    def _send(self, ids: list[int | None]) -> None:
        new = [row_id for row_id in ids if row_id is not None]
        if not new:
            return
        try:
            self._send_jobs(new)
        except Exception:
            log.warning("payment events %s stored, not enqueued: the periodic pass will", new, exc_info=True)

    async def aclose(self) -> None:
        """Write what waits, wait for the job sends under way; close the inbox's own SQLite connection."""
        if self._file is not None:
            await self._file.aclose()
        await asyncio.to_thread(self._sender.shutdown, wait=True)


# An event waiting for the file writer: the event, its payload, and the future its request awaits.
_Waiting = tuple[PaymentEvent, str, asyncio.Future[int | None]]
# The most events one transaction takes (5 values each: SQLite binds at most 32,766 per statement).
MOST_PER_TRANSACTION = 1000


class _FileWriter:
    """`PaymentInbox` on a SQLite file: one thread writes every batch, taking what waited for the lock.

    A request queues its event and waits. The thread takes the first event waiting, waits for the
    database's write lock (`polled_write`: behind a worker's settling transactions, say), and only once
    it holds it takes every event queued meanwhile: they all go into that transaction. So a request
    waits for about one turn of the lock, not for the rest of the turn under way and then its own, as
    it would if a batch were closed before the wait. After the commit the thread answers the batch's
    requests (one wake-up of their event loop) and hands the batch's row ids to `hand_over`, which must
    not block (the inbox's sender thread sends their jobs).
    """

    def __init__(self, engine: Engine, hand_over: Callable[[list[int | None]], None]) -> None:
        self._engine = engine
        self._hand_over = hand_over
        self._waiting: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None

    async def store(self, event: PaymentEvent, payload: str) -> int | None:
        """The row id, or None when stored before; once its transaction has committed."""
        stored: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        if self._writer is None:
            self._writer = threading.Thread(target=self._write, name="payment-inbox-writer", daemon=True)
            self._writer.start()
        self._waiting.put((event, payload, stored))
        return await stored

    def _write(self) -> None:
        stopping = False
        while not stopping and (first := self._waiting.get()) is not None:
            batch = [first]
            try:
                with polled_write(self._engine) as cursor:
                    stopping = _take_waiting(self._waiting, batch)
                    events = [(event, payload) for event, payload, _stored in batch]
                    outcomes: Sequence[int | Exception | None] = _insert_on_sqlite(
                        cursor, self._engine.dialect, events
                    )
            except Exception as exc:
                outcomes = [exc] * len(batch)
            # One wake-up of the event loop the requests wait on (the one `store` was called on).
            answers = [
                (stored, outcome) for (_event, _payload, stored), outcome in zip(batch, outcomes, strict=True)
            ]
            try:
                answers[0][0].get_loop().call_soon_threadsafe(_settle_all, answers)
            except RuntimeError:
                log.debug("the event loop closed before %d stored events were answered", len(batch))
            ids = [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
            if ids:
                self._hand_over(ids)

    async def aclose(self) -> None:
        """Write what waits, and close the connection."""
        if self._writer is not None:
            self._waiting.put(None)
            await asyncio.to_thread(self._writer.join)
        await asyncio.to_thread(self._engine.dispose)


def _take_waiting(waiting: queue.SimpleQueue[_Waiting | None], batch: list[_Waiting]) -> bool:
    """Move the events queued now into `batch` (up to MOST_PER_TRANSACTION); whether the queue said stop."""
    while len(batch) < MOST_PER_TRANSACTION:
        try:
            taken = waiting.get_nowait()
        except queue.Empty:
            return False
        if taken is None:
            return True
        batch.append(taken)
    return False


def _settle_all(answers: list[tuple[asyncio.Future[int | None], int | Exception | None]]) -> None:
    for stored, outcome in answers:
        if stored.done():
            continue  # its request stopped waiting (cancelled): its event's job is sent all the same
        if isinstance(outcome, Exception):
            stored.set_exception(outcome)
        else:
            stored.set_result(outcome)


async def stored_payment_events(
    sessions: SessionFactory, payment_event_ids: Sequence[int]
) -> list[StoredPaymentEvent | None]:
    """The stored events with these row ids, in order (None for an unknown one), in one statement."""
    # A Core statement rather than an ORM load: it runs for every event a worker settles.
    async with sessions() as session:
        rows = await session.execute(
            select(
                PaymentEventRow.id,
                PaymentEventRow.provider,
                PaymentEventRow.event_id,
                PaymentEventRow.event_type,
                PaymentEventRow.payload,
                PaymentEventRow.received_at,
                PaymentEventRow.processed_at,
                PaymentEventRow.outcome,
            ).where(PaymentEventRow.id.in_(payment_event_ids))
        )
        found = {row.id: StoredPaymentEvent(*row) for row in rows}
    return [found.get(payment_event_id) for payment_event_id in payment_event_ids]


async def record_attempt_error(sessions: SessionFactory, payment_event_id: int, error: str) -> None:
    """Note why the latest attempt failed; the event stays unprocessed and will be tried again."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(PaymentEventRow)
            .where(PaymentEventRow.id == payment_event_id, PaymentEventRow.outcome.is_(None))
            .values(error=error[-ERROR_MAX_CHARS:])
        )


async def record_permanent_failure(
    sessions: SessionFactory, payment_event_id: int, error: str, now: datetime | None = None
) -> None:
    """Mark an unprocessed event as one that can never be processed, with the reason."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(PaymentEventRow)
            .where(PaymentEventRow.id == payment_event_id, PaymentEventRow.outcome.is_(None))
            .values(outcome=FAILED_OUTCOME, error=error[-ERROR_MAX_CHARS:], processed_at=now or utc_now())
        )


class PassVerdict(StrEnum):
    """What the safety net does with an unprocessed event on this pass."""

    ENQUEUE = "enqueue"
    PARKED = "parked"  # out of passes: parked now
    SETTLED = "settled"  # settled (or gone) since it was listed: nothing to do


async def count_pass_or_park(
    sessions: SessionFactory, payment_event_id: int, max_passes: int, now: datetime | None = None
) -> PassVerdict:
    """Count one more pass of an unprocessed event, or park it once it has had `max_passes`.

    A parked event's outcome becomes PARKED_OUTCOME (its last error stays), so it is no longer owed
    processing: a person looks at it.
    """
    async with sessions() as session, session.begin():
        row = await session.get(PaymentEventRow, payment_event_id, with_for_update=True)
        if row is None or row.outcome is not None:
            return PassVerdict.SETTLED
        if row.passes >= max_passes:
            row.outcome = PARKED_OUTCOME
            row.processed_at = now or utc_now()
            return PassVerdict.PARKED
        row.passes += 1
        return PassVerdict.ENQUEUE


async def parked_payment_events(sessions: SessionFactory) -> int:
    """How many events are parked (dead-lettered) for a person to look at."""
    async with sessions() as session:
        count = await session.scalar(
            select(func.count(PaymentEventRow.id)).where(PaymentEventRow.outcome == PARKED_OUTCOME)
        )
        return int(count or 0)


async def unprocessed_payment_events(
    sessions: SessionFactory, received_before: datetime, limit: int = 100
) -> list[int]:
    """Ids of events received before `received_before` and still owed processing, oldest first."""
    async with sessions() as session:
        ids = await session.scalars(
            select(PaymentEventRow.id)
            .where(
                PaymentEventRow.processed_at.is_(None),
                PaymentEventRow.outcome.is_(None),
                PaymentEventRow.received_at < received_before,
            )
            .order_by(PaymentEventRow.received_at, PaymentEventRow.id)
            .limit(limit)
        )
        return list(ids)


async def inbox_backlog(sessions: SessionFactory, now: datetime | None = None) -> tuple[int, float]:
    """How many events wait to be processed, and how long the oldest has waited (seconds)."""
    async with sessions() as session:
        row = await session.execute(
            select(func.count(PaymentEventRow.id), func.min(PaymentEventRow.received_at)).where(
                PaymentEventRow.processed_at.is_(None), PaymentEventRow.outcome.is_(None)
            )
        )
        count, oldest = row.one()
    if not count or oldest is None:
        return 0, 0.0
    return int(count), max(0.0, ((now or utc_now()) - oldest).total_seconds())

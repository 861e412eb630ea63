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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Engine, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.batches import Batches
from booking_core.database import POLL_WRITE_LOCK, SessionFactory, insert_or_skip_on, sqlite_file_engine
from booking_core.models import PaymentEvent as PaymentEventRow
from booking_core.models import utc_now
from booking_core.payments.port import PaymentEvent

# Written when an event can never be processed (say, an unreadable stored body); it is not retried.
FAILED_OUTCOME = "failed"
# Written when an event failed every retry of every pass of the safety net (dead-lettered): not retried.
PARKED_OUTCOME = "parked"
ERROR_MAX_CHARS = 2000
_EVENTS = cast(Table, PaymentEventRow.__table__)
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
    async with sessions() as session, session.begin():
        await session.connection(execution_options={POLL_WRITE_LOCK: True})
        inserted = await session.execute(_inserting(session.get_bind().dialect.name), rows)
        ids = {(provider, event_id): row_id for provider, event_id, row_id in inserted}
    return _ids_in_order(events, ids)


def _store_blocking(engine: Engine, events: Sequence[tuple[PaymentEvent, str]]) -> list[int | None]:
    """`store_payment_events` through a blocking SQLite engine: meant to run whole in a worker thread."""
    rows = _event_rows(events)
    with engine.connect().execution_options(**{POLL_WRITE_LOCK: True}) as connection, connection.begin():
        inserted = connection.execute(_inserting(engine.dialect.name), rows)
        ids = {(provider, event_id): row_id for provider, event_id, row_id in inserted}
    return _ids_in_order(events, ids)


def _event_rows(events: Sequence[tuple[PaymentEvent, str]]) -> list[dict[str, object]]:
    """The rows to insert: one per (provider, event id), the first of a repeat within the batch."""
    received_at = utc_now()
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for event, payload in events:
        rows.setdefault(
            (event.provider, event.event_id),
            {
                "provider": event.provider,
                "event_id": event.event_id,
                "event_type": event.event_type or event.kind.value,
                "payload": payload,
                "received_at": received_at,
            },
        )
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

    A request's event is written by whichever request takes the write turn next, together with every
    event waiting by then, and `store` returns once that transaction has committed: a provider is
    answered only for a stored event, while the requests share one BEGIN and COMMIT (on SQLite one
    turn of the single write lock) instead of queueing for one each. Should the transaction fail,
    each of its requests gets the error (and answers 503: the provider sends the event again).

    The batch's new events are then handed to `send_jobs` in a worker thread, while their requests are
    answered: a request does not wait on the broker. A send that fails is logged; the events stay
    unprocessed for the workers' periodic pass. `aclose` waits for the sends under way.

    On a SQLite file the transaction runs whole in a worker thread on a blocking connection of its own
    (`sqlite_file_engine`), which then sends the jobs too: waiting for the write lock behind another
    process's transactions, writing and sending cost one thread hop, not one per statement and per try
    at the lock. `aclose` closes that connection.
    """

    def __init__(self, sessions: SessionFactory, send_jobs: SendJobs) -> None:
        bind = sessions.kw.get("bind")
        self._sessions = sessions
        self._send_jobs = send_jobs
        self._blocking = sqlite_file_engine(bind) if isinstance(bind, AsyncEngine) else None
        self._batches: Batches[tuple[PaymentEvent, str], int | None] = Batches(self._store_batch)
        self._sending: set[asyncio.Future[None]] = set()

    async def store(self, event: PaymentEvent, payload: str) -> int | None:
        """Like `store_payment_event`: the row id, or None when this event was stored before."""
        return await self._batches.submit((event, payload))

    async def _store_batch(self, events: list[tuple[PaymentEvent, str]]) -> list[int | None]:
        loop = asyncio.get_running_loop()
        if self._blocking is None:
            ids = await store_payment_events(self._sessions, events)
            self._track(loop.run_in_executor(None, self._send, ids))
            return ids
        stored: asyncio.Future[list[int | None]] = loop.create_future()
        self._track(loop.run_in_executor(None, self._store_and_send, loop, stored, events))
        return await stored

    def _store_and_send(
        self,
        loop: asyncio.AbstractEventLoop,
        stored: asyncio.Future[list[int | None]],
        events: list[tuple[PaymentEvent, str]],
    ) -> None:
        # In a worker thread: the batch's requests are answered as soon as it is committed.
        assert self._blocking is not None
        try:
            ids = _store_blocking(self._blocking, events)
        except Exception as exc:
            loop.call_soon_threadsafe(_settle, stored, exc)
            return
        loop.call_soon_threadsafe(_settle, stored, ids)
        self._send(ids)

    def _send(self, ids: list[int | None]) -> None:
        new = [row_id for row_id in ids if row_id is not None]
        if not new:
            return
        try:
            self._send_jobs(new)
        except Exception:
            log.warning("payment events %s stored, not enqueued: the periodic pass will", new, exc_info=True)

    def _track(self, sending: asyncio.Future[None]) -> None:
        self._sending.add(sending)
        sending.add_done_callback(self._sending.discard)

    async def aclose(self) -> None:
        """Wait for the job sends under way; close the inbox's own SQLite connections, if it has any."""
        await asyncio.gather(*self._sending)
        if self._blocking is not None:
            await asyncio.to_thread(self._blocking.dispose)


def _settle(stored: asyncio.Future[list[int | None]], outcome: list[int | None] | Exception) -> None:
    if stored.done():
        return  # its requests stopped waiting (cancelled): the batch's jobs are sent all the same
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

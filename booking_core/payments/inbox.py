"""The payment event inbox: provider webhooks stored once by their event id, then processed by workers.

The web server only stores (`store_payment_event`) and enqueues; a worker reads the stored body back
(`stored_payment_event`) and settles it through `confirmation.confirm_payment`, which writes the
outcome onto the same row. A row with neither `outcome` nor `processed_at` is still owed processing:
`unprocessed_payment_events` lists those, so an event whose job was lost is picked up again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from booking_core.database import SessionFactory
from booking_core.models import PaymentEvent as PaymentEventRow
from booking_core.models import utc_now
from booking_core.payments.port import PaymentEvent

# Written when an event can never be processed (say, an unreadable stored body); it is not retried.
FAILED_OUTCOME = "failed"
ERROR_MAX_CHARS = 2000


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
    # A plain INSERT ... RETURNING rather than the ORM's unit of work: this runs inside the webhook
    # request, and on SQLite it holds the database's only write lock while it runs.
    statement = (
        insert(PaymentEventRow)
        .values(
            provider=event.provider,
            event_id=event.event_id,
            event_type=event.event_type or event.kind.value,
            payload=payload,
            received_at=utc_now(),
        )
        .returning(PaymentEventRow.id)
    )
    try:
        async with sessions() as session, session.begin():
            return int((await session.execute(statement)).scalar_one())
    except IntegrityError:
        # UNIQUE (provider, event_id): a redelivery. Anything else (database down) propagates.
        return None


async def stored_payment_event(sessions: SessionFactory, payment_event_id: int) -> StoredPaymentEvent | None:
    """The stored event with this row id, or None."""
    async with sessions() as session:
        row = await session.get(PaymentEventRow, payment_event_id)
        if row is None:
            return None
        return StoredPaymentEvent(
            id=row.id,
            provider=row.provider,
            event_id=row.event_id,
            event_type=row.event_type,
            payload=row.payload,
            received_at=row.received_at,
            processed_at=row.processed_at,
            outcome=row.outcome,
        )


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

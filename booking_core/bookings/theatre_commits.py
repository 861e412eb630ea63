"""Finishing paid bookings that wait for their connected cinema (`paid_unconfirmed`), or refunding them.

A worker runs `finish_paid_unconfirmed` every few seconds (workers/theatre.py). Each due
`theatre_commits` row is leased first (its next attempt moved a minute ahead in a short transaction,
SKIP LOCKED on PostgreSQL), so any number of workers may run the pass at once and a booking is worked
on by one of them at a time; a worker that dies leaves its lease to run out. Then, by the row's state:
- committing: sell again through booking_core.bookings.theatre_sale with the same idempotency keys. A ticket
  confirms the booking (its seats, our ticket carrying the theatre's ticket id, its messages); seats
  gone or a refusal refund it; no answer backs off, and once past `give_up_at` the booking is refunded
  and the row turns to releasing. Money is never kept without a ticket.
- releasing: the booking was refunded while the theatre could not be asked: release its lock there,
  cancelling a ticket the theatre had issued after all.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking_core.bookings.checkout import PaymentStatus
from booking_core.bookings.sale import BookingFacts, booking_facts, locked_booking, record_sale
from booking_core.bookings.theatre_sale import (
    SaleAttempt,
    SaleOutcome,
    SaleRequest,
    cancel_sale,
    retry_delay,
    sell,
    undo_sale,
)
from booking_core.database import SessionFactory
from booking_core.events import BookingConfirmed, EventSink, RefundStarted
from booking_core.holds.store import HoldStore
from booking_core.holds.theatre_holds import TheatreHolds
from booking_core.models import Booking, BookingStatus, Payment, Show, TheatreCommit, utc_now
from booking_core.theatre.port import TheatreError

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
BATCH = 20
GAVE_UP = "the cinema's system did not confirm the sale in time"


class CommitState(enum.StrEnum):
    """What a `theatre_commits` row still owes the theatre."""

    COMMITTING = "committing"
    RELEASING = "releasing"


@dataclass(frozen=True)
class RetryReport:
    """What one pass did."""

    confirmed: int = 0
    refunded: int = 0
    waiting: int = 0  # still no answer from the theatre: tried again later
    released: int = 0  # refunded bookings whose theatre side is now settled


@dataclass(frozen=True)
class _Due:
    state: CommitState
    booking: BookingFacts


class _Result(enum.Enum):
    CONFIRMED = "confirmed"
    REFUNDED = "refunded"
    WAITING = "waiting"
    NOTHING = "nothing"  # settled by someone else meanwhile


async def finish_paid_unconfirmed(
    sessions: SessionFactory,
    holds: HoldStore,
    events: EventSink,
    *,
    reminder_minutes: int,
    now: datetime | None = None,
    limit: int = BATCH,
) -> RetryReport:
    """Try the due bookings waiting for their theatre once each; see the module docstring."""
    theatre = holds.theatre
    if theatre is None:
        return RetryReport()
    now = now or utc_now()
    counts = {"confirmed": 0, "refunded": 0, "waiting": 0, "released": 0}
    for due in await _lease(sessions, now, limit):
        show = await theatre.connected(due.booking.show_id)
        if show is None:
            log.error(
                "booking %s waits for a theatre but its show %s is not connected",
                due.booking.id,
                due.booking.show_id,
            )
            continue
        request = SaleRequest(
            due.booking.id,
            show,
            due.booking.seat_ids,
            due.booking.amount_minor,
            due.booking.currency,
            due.booking.theatre_lock_id,
        )
        if due.state == CommitState.RELEASING:
            done = await undo_sale(theatre, request)
            await _released(sessions, due.booking.id, done, now)
            counts["released" if done else "waiting"] += 1
            continue
        attempt = await sell(theatre, request)
        result, publish = await _settle(sessions, due, attempt, reminder_minutes, now)
        await _after(holds, theatre, due, attempt, result, request)
        if publish is not None:
            await events.publish(publish)
        if result != _Result.NOTHING:
            counts[result.value] += 1
    return RetryReport(**counts)


async def _lease(sessions: SessionFactory, now: datetime, limit: int) -> list[_Due]:
    async with sessions() as session, session.begin():
        rows = list(
            await session.scalars(
                select(TheatreCommit)
                .where(TheatreCommit.next_attempt_at <= now)
                .order_by(TheatreCommit.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            row.next_attempt_at = now + LEASE
        states = {row.booking_id: CommitState(row.state) for row in rows}
        return [_Due(states[facts.id], facts) for facts in await booking_facts(session, list(states))]


async def _settle(
    sessions: SessionFactory, due: _Due, attempt: SaleAttempt, reminder_minutes: int, now: datetime
) -> tuple[_Result, BookingConfirmed | RefundStarted | None]:
    """One transaction with the booking row locked: what the theatre's answer means for the booking."""
    async with sessions() as session, session.begin():
        booking = await locked_booking(session, due.booking.id)
        row = await session.get(TheatreCommit, due.booking.id, populate_existing=True)
        if booking is None or row is None or row.state != CommitState.COMMITTING:
            return _Result.NOTHING, None
        if booking.status != BookingStatus.PAID_UNCONFIRMED:
            await session.delete(row)
            return _Result.NOTHING, None
        booking.theatre_lock_id = attempt.lock_id or booking.theatre_lock_id
        if attempt.outcome == SaleOutcome.COMMITTED:
            show = await session.get(Show, booking.show_id)
            assert show is not None
            sold = show.on_sale and await record_sale(
                session,
                booking,
                due.booking.seat_ids,
                show.starts_at,
                now,
                reminder_minutes=reminder_minutes,
                theatre_ticket_id=attempt.ticket_id,
            )
            if sold:
                booking.status_reason = None
                await session.delete(row)
                return _Result.CONFIRMED, BookingConfirmed(booking.id, due.booking.user_id)
            reason = "show withdrawn" if not show.on_sale else "seats sold to someone else"
            await session.delete(row)
            return _Result.REFUNDED, await refund_waiting_booking(session, booking, reason)
        if attempt.outcome != SaleOutcome.UNAVAILABLE:
            reason = attempt.reason or "the cinema refused the sale"
            if attempt.outcome == SaleOutcome.REJECTED:
                log.error("booking %s: %s; refunding (check the theatre's configuration)", booking.id, reason)
            await session.delete(row)
            return _Result.REFUNDED, await refund_waiting_booking(session, booking, reason)
        row.last_error = attempt.reason
        if now >= row.give_up_at:
            log.warning("booking %s: %s; refunding", booking.id, GAVE_UP)
            row.state = CommitState.RELEASING
            row.attempts = 0
            row.next_attempt_at = now
            return _Result.REFUNDED, await refund_waiting_booking(session, booking, GAVE_UP)
        row.attempts += 1
        row.next_attempt_at = now + retry_delay(row.attempts)
        return _Result.WAITING, None


async def refund_waiting_booking(session: AsyncSession, booking: Booking, reason: str) -> RefundStarted:
    """Within the transaction: a booking that cannot become a sale goes back, every payment of it too."""
    paid = await session.scalars(
        select(Payment).where(Payment.booking_id == booking.id, Payment.status == PaymentStatus.PAID)
    )
    for payment in paid:
        payment.status = PaymentStatus.REFUND_PENDING
    booking.status = BookingStatus.REFUND_PENDING
    booking.status_reason = reason[:300]
    return RefundStarted(booking_id=booking.id, user_id=booking.customer.telegram_user_id, reason=reason)


async def _after(
    holds: HoldStore,
    theatre: TheatreHolds,
    due: _Due,
    attempt: SaleAttempt,
    result: _Result,
    request: SaleRequest,
) -> None:
    """Bring Redis and the theatre in line with what SQL decided."""
    try:
        if result == _Result.CONFIRMED:
            await holds.mark_sold(due.booking.show_id, due.booking.seat_ids, due.booking.hold_token)
        elif result == _Result.REFUNDED:
            await holds.release(due.booking.show_id, due.booking.hold_token)
    except (RedisError, OSError) as exc:
        log.warning("booking %s settled but Redis not updated: %s", due.booking.id, exc)
    if result == _Result.REFUNDED and attempt.outcome == SaleOutcome.COMMITTED and attempt.ticket_id:
        try:
            await cancel_sale(theatre, request.show, attempt.ticket_id, due.booking.id)
        except TheatreError as exc:
            log.error(
                "booking %s refunded but theatre ticket %s stands: %s", due.booking.id, attempt.ticket_id, exc
            )


async def _released(sessions: SessionFactory, booking_id: int, done: bool, now: datetime) -> None:
    async with sessions() as session, session.begin():
        row = await session.get(TheatreCommit, booking_id, with_for_update=True, populate_existing=True)
        if row is None:
            return
        if done:
            await session.delete(row)
            return
        row.attempts += 1
        row.next_attempt_at = now + retry_delay(row.attempts)

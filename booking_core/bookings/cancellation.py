"""Cancelling bookings and paying money back.

A customer may cancel a booking awaiting payment at any time, and a confirmed one up to a cut-off
before the show: its seats stop being sold in SQL in the same transaction, then go back to the
waitlist or the public through the hold store. Refunds are two steps so that no provider call runs
inside a transaction: whatever decides a refund marks the payment `refund_pending`; a worker lists
them with `refund_due`, calls the provider and reports with `mark_refunded`.

A connected cinema's ticket is the theatre's (DESIGN.md section 10): it is cancelled at the theatre
first, outside any transaction, and only then in our database. Without a theatre to ask (no
THEATRE_SYSTEMS in this deployment, or a ticket the theatre never issued) it is the cinema's to cancel.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from redis.exceptions import RedisError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from booking_core.bookings.checkout import OpenCheckout, PaymentStatus
from booking_core.bookings.theatre_sale import cancel_sale
from booking_core.database import SessionFactory
from booking_core.events import EventSink, RefundStarted
from booking_core.holds.store import HoldStore
from booking_core.holds.theatre_holds import TheatreHolds
from booking_core.models import (
    BookedSeat,
    Booking,
    BookingStatus,
    Cinema,
    Customer,
    Hall,
    Payment,
    Show,
    Ticket,
    utc_now,
)
from booking_core.theatre.port import LOCAL_SYSTEM, TheatreRejected, TheatreUnavailable
from booking_core.tickets.outbox import cancel_pending_notifications

log = logging.getLogger(__name__)

CANCELLED_BY_CUSTOMER = "cancelled by the customer"


class CancelRefusal(StrEnum):
    """Why a booking could not be cancelled; stable codes the bot turns into words."""

    NOT_FOUND = "not_found"  # no such booking for this user
    TOO_LATE = "too_late"  # within the cut-off before the show
    NOT_CANCELLABLE = "not_cancellable"  # already cancelled, expired or being refunded
    THEATRE_MANAGED = "theatre_managed"  # a connected cinema's ticket: cancel at the cinema
    THEATRE_UNAVAILABLE = "theatre_unavailable"  # the cinema's own system is not answering: try later


@dataclass(frozen=True)
class Cancelled:
    """A cancelled booking: `refund_started` if money goes back; expire `checkouts_to_expire` at providers."""

    booking_id: int
    refund_started: bool
    seat_ids: tuple[int, ...]
    checkouts_to_expire: tuple[OpenCheckout, ...] = ()


@dataclass(frozen=True)
class CancelRefused:
    """Nothing changed."""

    reason: CancelRefusal


@dataclass(frozen=True)
class RefundDue:
    """One payment to give back: refund at the provider with this idempotency key, then `mark_refunded`."""

    booking_id: int
    user_id: int
    provider: str
    # The provider's payment id when known, else the checkout id (both are accepted by the providers' refund).
    payment_reference: str
    amount_minor: int
    currency: str
    idempotency_key: str
    reason: str


async def cancel_booking(
    sessions: SessionFactory,
    holds: HoldStore,
    events: EventSink,
    booking_id: int,
    telegram_user_id: int,
    *,
    cancel_cutoff: timedelta,
    now: datetime | None = None,
) -> Cancelled | CancelRefused:
    """Cancel the user's booking: unpaid at any time, confirmed until `cancel_cutoff` before the show."""
    now = now or utc_now()
    at_theatre = False
    if holds.theatre is not None:
        cancelled = await _cancel_at_theatre(
            sessions, holds.theatre, booking_id, telegram_user_id, cancel_cutoff, now
        )
        if isinstance(cancelled, CancelRefused):
            return cancelled
        at_theatre = cancelled
    async with sessions() as session, session.begin():
        booking = await session.scalar(
            select(Booking)
            .where(Booking.id == booking_id)
            .with_for_update()
            .options(selectinload(Booking.lines), selectinload(Booking.customer))
        )
        if booking is None or booking.customer.telegram_user_id != telegram_user_id:
            return CancelRefused(CancelRefusal.NOT_FOUND)
        show_id, hold_token = booking.show_id, booking.hold_token
        seat_ids = tuple(sorted(line.seat_id for line in booking.lines))
        if booking.status in (BookingStatus.PENDING_PAYMENT, BookingStatus.EXPIRED):
            checkouts = await _drop_unpaid(session, booking)
            result = Cancelled(
                booking_id, refund_started=False, seat_ids=seat_ids, checkouts_to_expire=checkouts
            )
        elif booking.status == BookingStatus.CONFIRMED:
            refusal = await _confirmed_cancel_refusal(session, show_id, cancel_cutoff, now, at_theatre)
            if refusal is not None:
                return CancelRefused(refusal)
            await _unsell(session, booking, now)
            result = Cancelled(booking_id, refund_started=True, seat_ids=seat_ids)
        else:
            return CancelRefused(CancelRefusal.NOT_CANCELLABLE)
    if not result.refund_started:
        await _redis_step(holds.release(show_id, hold_token), booking_id)
        return result
    # Sold no more: the seats go to the waitlist first, else back to the public.
    await _redis_step(holds.mark_unsold(show_id, seat_ids), booking_id)
    await events.publish(RefundStarted(booking_id, telegram_user_id, CANCELLED_BY_CUSTOMER))
    return result


async def refund_due(sessions: SessionFactory, limit: int = 100) -> list[RefundDue]:
    """Payments waiting to be given back, oldest first (the provider call is idempotent on the key)."""
    async with sessions() as session:
        rows = await session.execute(
            select(Payment, Booking)
            .join(Booking, Booking.id == Payment.booking_id)
            .where(Payment.status == PaymentStatus.REFUND_PENDING)
            .options(selectinload(Booking.customer))
            .order_by(Payment.id)
            .limit(limit)
        )
        return [
            RefundDue(
                booking_id=booking.id,
                user_id=booking.customer.telegram_user_id,
                provider=payment.provider,
                payment_reference=payment.provider_payment_id or payment.checkout_id,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                idempotency_key=f"marquee-refund-{payment.id}",
                reason=booking.status_reason or "refund",
            )
            for payment, booking in rows
        ]


async def mark_refunded(
    sessions: SessionFactory, booking_id: int, refund_id: str, *, payment_reference: str | None = None
) -> bool:
    """The provider refunded the booking's pending payment (or the one named); False when none was pending."""
    async with sessions() as session, session.begin():
        booking = await session.scalar(select(Booking).where(Booking.id == booking_id).with_for_update())
        if booking is None:
            return False
        query = select(Payment).where(
            Payment.booking_id == booking_id, Payment.status == PaymentStatus.REFUND_PENDING
        )
        if payment_reference is not None:
            query = query.where(
                (Payment.provider_payment_id == payment_reference)
                | (Payment.checkout_id == payment_reference)
            )
        payments = list(await session.scalars(query))
        for payment in payments:
            payment.status = PaymentStatus.REFUNDED
            payment.refund_id = refund_id
        still_pending = await session.scalar(
            select(Payment.id).where(
                Payment.booking_id == booking_id, Payment.status == PaymentStatus.REFUND_PENDING
            )
        )
        if booking.status == BookingStatus.REFUND_PENDING and still_pending is None:
            booking.status = BookingStatus.REFUNDED
        return bool(payments)


async def _cancel_at_theatre(
    sessions: SessionFactory,
    theatre: TheatreHolds,
    booking_id: int,
    telegram_user_id: int,
    cancel_cutoff: timedelta,
    now: datetime,
) -> CancelRefused | bool:
    """A confirmed booking's theatre ticket, cancelled at its theatre; False when there is none to cancel."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(
                    Booking.status,
                    Booking.show_id,
                    Customer.telegram_user_id,
                    Show.starts_at,
                    Ticket.theatre_ticket_id,
                )
                .join(Customer, Customer.id == Booking.customer_id)
                .join(Show, Show.id == Booking.show_id)
                .join(Ticket, Ticket.booking_id == Booking.id)
                .where(Booking.id == booking_id)
            )
        ).one_or_none()
    if (
        row is None
        or row.telegram_user_id != telegram_user_id
        or row.status != BookingStatus.CONFIRMED
        or row.theatre_ticket_id is None
    ):
        return False  # the transaction decides, with the booking row locked
    show = await theatre.connected(row.show_id)
    if show is None:
        return False
    if now > row.starts_at - cancel_cutoff:
        return CancelRefused(CancelRefusal.TOO_LATE)
    try:
        await cancel_sale(theatre, show, row.theatre_ticket_id, booking_id)
    except TheatreUnavailable:
        return CancelRefused(CancelRefusal.THEATRE_UNAVAILABLE)
    except TheatreRejected as rejected:
        if rejected.reason == "show_started":
            return CancelRefused(CancelRefusal.TOO_LATE)
        log.error("booking %s: the theatre refused to cancel its ticket: %s", booking_id, rejected)
        return CancelRefused(CancelRefusal.THEATRE_MANAGED)
    return True


async def _confirmed_cancel_refusal(
    session: AsyncSession, show_id: int, cancel_cutoff: timedelta, now: datetime, at_theatre: bool
) -> CancelRefusal | None:
    row = await session.execute(
        select(Show.starts_at, Cinema.system)
        .join(Hall, Hall.id == Show.hall_id)
        .join(Cinema, Cinema.id == Hall.cinema_id)
        .where(Show.id == show_id)
    )
    starts_at, system = row.one()
    if system != LOCAL_SYSTEM and not at_theatre:
        # The cinema's own system sold the ticket and we could not cancel it there.
        return CancelRefusal.THEATRE_MANAGED
    if now > starts_at - cancel_cutoff:
        return CancelRefusal.TOO_LATE
    return None


async def _drop_unpaid(session: AsyncSession, booking: Booking) -> tuple[OpenCheckout, ...]:
    """Within the transaction: cancel a booking not paid for; its checkouts, to be expired at the provider."""
    booking.status = BookingStatus.CANCELLED
    booking.status_reason = CANCELLED_BY_CUSTOMER
    open_payments = await session.scalars(
        select(Payment).where(Payment.booking_id == booking.id, Payment.status == PaymentStatus.OPEN)
    )
    # Left open here: if the customer pays anyway, confirmation sends that money back.
    return tuple(OpenCheckout(p.booking_id, p.provider, p.checkout_id) for p in open_payments)


async def _unsell(session: AsyncSession, booking: Booking, now: datetime) -> None:
    """Within the transaction: the seats stop being sold, the ticket is void, the payment goes back."""
    await void_sale(session, booking.id, now)
    paid = await session.scalars(
        select(Payment).where(Payment.booking_id == booking.id, Payment.status == PaymentStatus.PAID)
    )
    for payment in paid:
        payment.status = PaymentStatus.REFUND_PENDING
    booking.status = BookingStatus.CANCELLED
    booking.status_reason = CANCELLED_BY_CUSTOMER


async def void_sale(session: AsyncSession, booking_id: int, now: datetime) -> str | None:
    """Within the transaction: the booking's seats stop being sold, its ticket and unsent messages are void.

    Returns the theatre's ticket id of a connected cinema's sale (to be cancelled there). The caller
    frees the seats in Redis after the commit (`HoldStore.mark_unsold`: waitlist first).
    """
    await session.execute(
        delete(BookedSeat)
        .where(BookedSeat.booking_id == booking_id)
        .execution_options(synchronize_session=False)
    )
    ticket = await session.scalar(select(Ticket).where(Ticket.booking_id == booking_id))
    if ticket is not None:
        ticket.cancelled_at = now
    await cancel_pending_notifications(session, booking_id, "booking cancelled")
    return ticket.theatre_ticket_id if ticket is not None else None


async def _redis_step(step: Awaitable[object], booking_id: int) -> None:
    try:
        await step
    except (RedisError, OSError) as exc:
        # SQL has the truth already; Redis loses at most a hold or a cache entry and rebuilds from SQL.
        log.warning("booking %s cancelled but Redis not updated: %s", booking_id, exc)

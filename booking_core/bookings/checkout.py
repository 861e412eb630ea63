"""Starting to pay: a held selection becomes a `pending_payment` booking priced on the server.

The provider's checkout is opened by the caller after `start_checkout` returns (no network call
inside a SQL transaction); the caller then records it with `record_checkout`. A customer has at
most one booking awaiting payment per show, because they have one hold per show: starting a new
checkout supersedes the older one, whose provider checkouts the caller should expire.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking_core.database import SessionFactory
from booking_core.holds.store import Hold, HoldStore
from booking_core.models import (
    Booking,
    BookingLine,
    BookingStatus,
    Customer,
    Movie,
    Payment,
    Seat,
    Show,
    ShowPrice,
    utc_now,
)
from booking_core.payments.port import CheckoutRequest


class PaymentStatus(StrEnum):
    """Where one provider checkout (a `payments` row) stands."""

    OPEN = "open"
    PAID = "paid"
    EXPIRED = "expired"
    REFUND_PENDING = "refund_pending"
    REFUNDED = "refunded"


class CheckoutRefusal(StrEnum):
    """Why a hold could not be turned into a booking; stable codes the bot turns into words."""

    HOLD_EXPIRED = "hold_expired"  # expired, released, replaced by another selection, or not this user's
    UNKNOWN_CUSTOMER = "unknown_customer"
    SHOW_UNAVAILABLE = "show_unavailable"  # started or withdrawn
    NO_PRICE = "no_price"  # a seat's category has no price for this show
    ALREADY_BOOKED = "already_booked"  # this hold already became a booking that is no longer awaiting payment
    PRICE_CHANGED = "price_changed"  # a connected cinema's lock states another price than ours


@dataclass(frozen=True)
class CheckoutStarted:
    """A booking awaiting payment; open the provider checkout for exactly this amount."""

    booking_id: int
    amount_minor: int
    currency: str
    expires_at: datetime
    description: str
    # Checkouts of the bookings this one superseded: expire them at their provider.
    superseded_checkouts: tuple[OpenCheckout, ...] = ()

    def checkout_request(self) -> CheckoutRequest:
        """The provider request for this booking (idempotent per booking)."""
        return CheckoutRequest(
            booking_id=self.booking_id,
            amount_minor=self.amount_minor,
            currency=self.currency,
            description=self.description,
            expires_at=self.expires_at,
            idempotency_key=f"marquee-checkout-{self.booking_id}",
        )


@dataclass(frozen=True)
class CheckoutRefused:
    """No booking was made; for PRICE_CHANGED, `amount_minor`/`currency` are the cinema's price now."""

    reason: CheckoutRefusal
    amount_minor: int | None = None
    currency: str | None = None


@dataclass(frozen=True)
class OpenCheckout:
    """A provider checkout that can still be paid and should be expired at the provider."""

    booking_id: int
    provider: str
    checkout_id: str


async def start_checkout(
    sessions: SessionFactory, holds: HoldStore, hold: Hold, *, now: datetime | None = None
) -> CheckoutStarted | CheckoutRefused:
    """Create (or return the existing) `pending_payment` booking for a live hold, priced by seat category.

    At a connected cinema the price is the one its lock states: a synced price that differs (the theatre
    changed it since the last sync) stops the checkout before any payment.
    """
    now = now or utc_now()
    live = await holds.hold_by_token(hold.show_id, hold.token)
    if live is None or live.user_id != hold.user_id:
        return CheckoutRefused(CheckoutRefusal.HOLD_EXPIRED)
    lock = None if holds.theatre is None else await holds.theatre.lock_of(live.show_id, live.token)
    theatre_price = None if lock is None or lock.amount_minor is None else (lock.amount_minor, lock.currency)
    for _attempt in range(2):
        try:
            return await _create_booking(sessions, live, now, theatre_price)
        except IntegrityError:
            # The same hold submitted twice at once: the other request made the booking; return it.
            continue
    raise RuntimeError(f"could not create a booking for hold of show {live.show_id}")


async def record_checkout(
    sessions: SessionFactory, booking_id: int, provider: str, checkout_id: str, url: str
) -> bool:
    """Remember the provider checkout of a booking; False when the booking no longer awaits payment."""
    async with sessions() as session, session.begin():
        booking = await session.get(Booking, booking_id)
        if booking is None:
            raise LookupError(f"booking {booking_id} does not exist")
        existing = await session.scalar(
            select(Payment).where(Payment.provider == provider, Payment.checkout_id == checkout_id)
        )
        if existing is None:
            session.add(
                Payment(
                    booking_id=booking_id,
                    provider=provider,
                    checkout_id=checkout_id,
                    checkout_url=url,
                    status=PaymentStatus.OPEN,
                    amount_minor=booking.amount_minor,
                    currency=booking.currency,
                )
            )
        return booking.status == BookingStatus.PENDING_PAYMENT


async def expire_lapsed_bookings(
    sessions: SessionFactory, now: datetime, *, grace: timedelta = timedelta(seconds=30), limit: int = 100
) -> list[OpenCheckout]:
    """Mark bookings whose hold lapsed `expired`; returns their open checkouts to expire at the provider."""
    async with sessions() as session, session.begin():
        bookings = list(
            await session.scalars(
                select(Booking)
                .where(
                    Booking.status == BookingStatus.PENDING_PAYMENT, Booking.hold_expires_at <= now - grace
                )
                .order_by(Booking.hold_expires_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for booking in bookings:
            booking.status = BookingStatus.EXPIRED
            booking.status_reason = "hold expired before payment"
        return await _open_checkouts(session, [booking.id for booking in bookings])


async def _create_booking(
    sessions: SessionFactory, hold: Hold, now: datetime, theatre_price: tuple[int, str | None] | None
) -> CheckoutStarted | CheckoutRefused:
    async with sessions() as session, session.begin():
        # Locking the customer makes two requests of one user take turns (SQLite: BEGIN IMMEDIATE).
        customer = await session.scalar(
            select(Customer).where(Customer.telegram_user_id == hold.user_id).with_for_update()
        )
        if customer is None:
            return CheckoutRefused(CheckoutRefusal.UNKNOWN_CUSTOMER)
        # Each hold() issues a new token, so a booking with this token is this very selection.
        existing = await session.scalar(select(Booking).where(Booking.hold_token == hold.token))
        if existing is not None:
            if existing.status != BookingStatus.PENDING_PAYMENT:
                return CheckoutRefused(CheckoutRefusal.ALREADY_BOOKED)
            return await _started(session, existing)
        show = await session.get(Show, hold.show_id)
        if show is None or not show.on_sale or show.starts_at <= now:
            return CheckoutRefused(CheckoutRefusal.SHOW_UNAVAILABLE)
        seats = list(
            await session.scalars(
                select(Seat).where(Seat.id.in_(hold.seat_ids), Seat.hall_id == show.hall_id).order_by(Seat.id)
            )
        )
        if not seats or len(seats) != len(set(hold.seat_ids)):
            return CheckoutRefused(CheckoutRefusal.HOLD_EXPIRED)
        price_rows = await session.execute(
            select(ShowPrice.category, ShowPrice.amount_minor).where(ShowPrice.show_id == show.id)
        )
        prices = {category: amount for category, amount in price_rows}
        if any(seat.category not in prices for seat in seats):
            return CheckoutRefused(CheckoutRefusal.NO_PRICE)
        amount = sum(prices[seat.category] for seat in seats)
        if theatre_price is not None and theatre_price != (amount, show.currency.upper()):
            return CheckoutRefused(CheckoutRefusal.PRICE_CHANGED, *theatre_price)
        superseded = await _supersede_pending(session, customer.id, show.id)
        booking = Booking(
            show_id=show.id,
            customer_id=customer.id,
            status=BookingStatus.PENDING_PAYMENT,
            hold_token=hold.token,
            hold_expires_at=hold.expires_at,
            amount_minor=amount,
            currency=show.currency.upper(),
            lines=[
                BookingLine(seat_id=seat.id, category=seat.category, price_minor=prices[seat.category])
                for seat in seats
            ],
        )
        session.add(booking)
        await session.flush()
        started = await _started(session, booking)
        return replace(started, superseded_checkouts=superseded)


async def _supersede_pending(
    session: AsyncSession, customer_id: int, show_id: int
) -> tuple[OpenCheckout, ...]:
    # One hold per user per show means an older booking awaiting payment lost its seats to this one.
    older = list(
        await session.scalars(
            select(Booking).where(
                Booking.customer_id == customer_id,
                Booking.show_id == show_id,
                Booking.status == BookingStatus.PENDING_PAYMENT,
            )
        )
    )
    for booking in older:
        booking.status = BookingStatus.CANCELLED
        booking.status_reason = "superseded by a newer checkout"
    return tuple(await _open_checkouts(session, [booking.id for booking in older]))


async def _open_checkouts(session: AsyncSession, booking_ids: list[int]) -> list[OpenCheckout]:
    if not booking_ids:
        return []
    payments = await session.scalars(
        select(Payment)
        .where(Payment.booking_id.in_(booking_ids), Payment.status == PaymentStatus.OPEN)
        .order_by(Payment.id)
    )
    return [OpenCheckout(payment.booking_id, payment.provider, payment.checkout_id) for payment in payments]


async def _started(session: AsyncSession, booking: Booking) -> CheckoutStarted:
    title = await session.scalar(
        select(Movie.title).join(Show, Show.movie_id == Movie.id).where(Show.id == booking.show_id)
    )
    seats = await session.execute(
        select(Seat.row_label, Seat.number)
        .join(BookingLine, BookingLine.seat_id == Seat.id)
        .where(BookingLine.booking_id == booking.id)
        .order_by(Seat.row_index, Seat.column)
    )
    labels = ", ".join(f"{row_label}{number}" for row_label, number in seats)
    return CheckoutStarted(
        booking_id=booking.id,
        amount_minor=booking.amount_minor,
        currency=booking.currency,
        expires_at=booking.hold_expires_at,
        description=f"{title}: seats {labels}"[:200],
    )

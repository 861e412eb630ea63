"""A payment for a connected cinema's show (DESIGN.md section 10): the theatre decides instead of Redis.

booking_core.bookings.confirmation settles every payment; for a connected show it calls out here:
1. `sell_at_theatre`, before the transaction: commit the hold's lock at the theatre through
   booking_core.bookings.theatre_sale (or lock the seats again for a late payment, and commit that).
2. `theatre_verdict`, inside the transaction: what the theatre's answer means for the booking: a sale
   carrying the theatre's ticket, a refund, or (the theatre could not be reached) a wait: the booking
   stays `paid_unconfirmed` with a `theatre_commits` row, for booking_core.bookings.theatre_commits to
   finish or refund. No ticket is ever issued that the theatre does not know.
3. `after_theatre_sale` and `cancel_at_theatre`, after the commit: Redis and the theatre brought in
   line with what SQL decided.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from booking_core.bookings import theatre_sale
from booking_core.bookings.checkout import PaymentStatus
from booking_core.bookings.errors import ConfirmationDeferred
from booking_core.bookings.sale import BookingFacts
from booking_core.bookings.theatre_sale import SaleAttempt, SaleOutcome, SaleRequest
from booking_core.holds.store import HoldStore
from booking_core.holds.theatre_holds import TheatreHolds
from booking_core.models import Booking, BookingStatus, Payment, TheatreCommit
from booking_core.theatre.port import TheatreError
from booking_core.theatre.shows import ConnectedShow

log = logging.getLogger(__name__)

WAITING_REASON = "paid; waiting for the cinema's system to confirm the sale"


@dataclass(frozen=True)
class TheatreStep:
    """Step 1 at a connected cinema: the theatre's answer to selling the booking."""

    theatre: TheatreHolds
    show: ConnectedShow
    attempt: SaleAttempt
    give_up_at: datetime  # when a booking left waiting for the theatre is refunded instead


@dataclass(frozen=True)
class TheatreVerdict:
    """What the theatre's answer means in SQL: wait, refund (`refusal`), or sell with its ticket."""

    waiting: bool = False  # paid, `paid_unconfirmed` now: the theatre is asked again later
    refusal: str | None = None
    ticket_id: str | None = None
    late: bool = False  # paid after our hold lapsed


async def sell_at_theatre(holds: HoldStore, booked: BookingFacts, now: datetime) -> TheatreStep | None:
    """Step 1 for a connected cinema's show: commit the hold's lock, or lock the seats again and commit.

    None for a local cinema's show (Redis decides those).
    """
    theatre = holds.theatre
    show = None if theatre is None else await theatre.connected(booked.show_id)
    if theatre is None or show is None:
        return None
    lock_id = booked.theatre_lock_id
    if lock_id is None:
        try:
            ours = await theatre.lock_of(booked.show_id, booked.hold_token)
        except (RedisError, OSError) as exc:
            if now < booked.hold_expires_at:
                # The hold's lock still keeps the seats at the theatre, so locking them again would fail.
                raise ConfirmationDeferred(f"booking {booked.id}: its theatre lock is in Redis") from exc
            ours = None
        lock_id = ours.lock_id if ours is not None else None
    request = SaleRequest(booked.id, show, booked.seat_ids, booked.amount_minor, booked.currency, lock_id)
    attempt = await theatre_sale.sell(theatre, request)
    return TheatreStep(theatre, show, attempt, give_up_at=now + theatre.commit_deadline)


def theatre_verdict(
    session: AsyncSession,
    booking: Booking,
    booked: BookingFacts,
    payment: Payment,
    step: TheatreStep,
    now: datetime,
) -> TheatreVerdict:
    """Within the transaction: record the theatre's lock, and for no answer the wait for it."""
    attempt = step.attempt
    booking.theatre_lock_id = attempt.lock_id
    if attempt.outcome == SaleOutcome.UNAVAILABLE:
        payment.status = PaymentStatus.PAID
        booking.status = BookingStatus.PAID_UNCONFIRMED
        booking.status_reason = WAITING_REASON
        session.add(
            TheatreCommit(
                booking_id=booking.id,
                attempts=1,
                next_attempt_at=now + theatre_sale.retry_delay(1),
                give_up_at=step.give_up_at,
                last_error=attempt.reason,
            )
        )
        return TheatreVerdict(waiting=True)
    if attempt.outcome != SaleOutcome.COMMITTED:
        reason = attempt.reason or "the cinema refused the sale"
        if attempt.outcome == SaleOutcome.REJECTED:
            log.error("booking %s: %s; refunding (check the theatre's configuration)", booking.id, reason)
        return TheatreVerdict(refusal=reason)
    # Late as at a local cinema: paid after our hold lapsed (a re-lock within it is the theatre's affair).
    late = attempt.relocked and now >= booked.hold_expires_at
    return TheatreVerdict(ticket_id=attempt.ticket_id, late=late)


async def after_theatre_sale(
    holds: HoldStore, booked: BookingFacts, step: TheatreStep, *, sold: bool, refunded: bool
) -> None:
    """After the commit: the hold goes (its lock is the sale now), or a refunded sale is undone."""
    attempt = step.attempt
    if sold:
        # The hold's lock is now the theatre's sale: the hold goes without freeing its seats.
        await holds.mark_sold(booked.show_id, booked.seat_ids, booked.hold_token)
        return
    if not refunded:
        return  # the booking waits for the theatre, or another payment or delivery is settling it
    if attempt.outcome == SaleOutcome.COMMITTED and attempt.ticket_id is not None:
        # The theatre sold seats for a booking that cannot stand (a withdrawn show, a seat we had sold).
        try:
            await theatre_sale.cancel_sale(step.theatre, step.show, attempt.ticket_id, booked.id)
        except TheatreError as exc:
            log.error(
                "booking %s refunded but theatre ticket %s stands: %s", booked.id, attempt.ticket_id, exc
            )
    await holds.release(booked.show_id, booked.hold_token)


async def cancel_at_theatre(holds: HoldStore, booked: BookingFacts, ticket_id: str) -> None:
    """A connected cinema's ticket whose money went back: cancelled at the theatre too."""
    show = None if holds.theatre is None else await holds.theatre.connected(booked.show_id)
    if holds.theatre is None or show is None:
        log.error("booking %s refunded; theatre ticket %s is the cinema's to cancel", booked.id, ticket_id)
        return
    try:
        await theatre_sale.cancel_sale(holds.theatre, show, ticket_id, booked.id)
    except TheatreError as exc:
        log.error("booking %s refunded but theatre ticket %s stands: %s", booked.id, ticket_id, exc)

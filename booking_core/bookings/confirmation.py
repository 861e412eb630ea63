"""Settling a payment: a provider event turns a booking into sold seats and a ticket, or into a refund.

The order of work (DESIGN.md section 5):
1. Outside any transaction, make sure Redis agrees the seats are ours: the booking's hold is still
   live, or (a late payment) holding the same seats again for the same user succeeds.
2. One SQL transaction, with the booking row locked so duplicate deliveries of an event wait their
   turn: check amount and currency, insert the booked seats (UNIQUE (show, seat) decides every race,
   whatever Redis said), issue the ticket, write the outbox rows and the event's outcome.
3. After the commit: mark the seats sold in Redis (dropping the hold) or give them back, then tell
   the user through the EventSink.
A payment that cannot become a sale is never kept: the booking (or, for a second payment of a booking
already paid, that payment) goes to `refund_pending` with its reason, for `refund_due` to pay back.

Only what Marquee recorded identifies a payment: a completion counts for a checkout Marquee opened and
recorded, never for a booking id named in the event's metadata. Providers deliver in any order, so a
refund is settled whenever it comes (the policy: README, "Refunds"): a full refund
of a confirmed booking voids its sale (seats back through the waitlist rules, ticket cancelled, the
customer told); a refund that arrives before its completion refunds the booking, and the completion
then finds its payment refunded and is never confirmed.

At a connected cinema (DESIGN.md section 10) the theatre decides instead of Redis: each step calls out
to booking_core.bookings.theatre_payment, and the ticket is the theatre's.

Statements: the payments a process confirms at the same time share each step (`ConfirmationTurns`).
Before the transaction, their bookings with their customers and seats are read in one statement
through `reads` (on SQLite a snapshot that never waits for the write lock) and their holds looked up
in one Redis round trip. The transaction (booking_core.bookings.settling) takes the same statements
for one of them as for thirty: one locked load of the bookings with their
customers, one read of their payments, the show's two columns, one INSERT each for the booked seats,
the tickets and the outbox rows (no savepoints: conflicts are skipped and counted), and the updates,
flushed once at the commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import cast

from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, Row, Table, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking_core.batches import Batches, alone
from booking_core.bookings.cancellation import void_sale
from booking_core.bookings.checkout import PaymentStatus
from booking_core.bookings.errors import ConfirmationDeferred
from booking_core.bookings.sale import (
    BookingFacts,
    Sale,
    booking_facts,
    booking_facts_of,
    booking_facts_query,
    record_sales,
)
from booking_core.bookings.settling import SettlingTurns
from booking_core.bookings.theatre_payment import (
    TheatreStep,
    after_theatre_sale,
    cancel_at_theatre,
    sell_at_theatre,
    theatre_verdict,
)
from booking_core.database import SessionFactory
from booking_core.events import BookingConfirmed, EventSink, RefundStarted
from booking_core.holds.errors import HoldRefusalReason
from booking_core.holds.store import Hold, HoldStore
from booking_core.models import BookedSeat, Booking, BookingStatus, Payment, Show, utc_now
from booking_core.models import PaymentEvent as PaymentEventRow
from booking_core.payments.port import PaymentEvent, PaymentEventKind

log = logging.getLogger(__name__)


class ConfirmationOutcome(StrEnum):
    """What a payment event did; stored as the payment event's outcome."""

    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"  # a repeat of the payment that confirmed the booking
    LATE_CONFIRMED = "late_confirmed"  # paid after the hold lapsed, and the seats were still free
    REFUND_PENDING = (
        "refund_pending"  # paid, but the booking cannot stand (seats gone, cancelled, paid twice)
    )
    AMOUNT_MISMATCH = "amount_mismatch"  # paid a different amount or currency: refunded, not confirmed
    UNKNOWN_BOOKING = "unknown_booking"
    EXPIRED = "expired"  # the checkout lapsed unpaid
    REFUNDED = "refunded"  # the provider reports the money returned
    IGNORED = "ignored"  # nothing to do (a repeat, a failed attempt, an expiry after payment)
    PAID_UNCONFIRMED = "paid_unconfirmed"  # paid; the connected cinema's system has not confirmed yet


@dataclass(frozen=True)
class ConfirmationResult:
    """The outcome for one event, the booking it concerned and, when not a plain success, why."""

    outcome: ConfirmationOutcome
    booking_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class _SeatClaim:
    """Redis's answer for the booking's seats: the hold that covers them now, or why there is none."""

    token: str | None
    late: bool
    refusal: str | None = None


@dataclass
class _Settlement:
    """What the transaction decided, for the after-commit steps."""

    result: ConfirmationResult
    booking: BookingFacts | None = None
    sold: bool = False  # the booking stands as a sale (now or before)
    # Seats SQL found sold to others while Redis thought them free (a lost write, a flush).
    sold_elsewhere: tuple[int, ...] = ()
    publish: BookingConfirmed | RefundStarted | None = None
    booking_refunded: bool = False  # the whole booking goes back (not just a second payment of it)
    unsold: bool = False  # a confirmed sale was voided: its seats go back through the waitlist rules
    voided_theatre_ticket: str | None = None  # the connected cinema's ticket of a voided sale


@dataclass(frozen=True)
class _Settled:
    """A settled event, its outcome still to be recorded on its payment_events row."""

    event: PaymentEvent
    settlement: _Settlement
    now: datetime


@dataclass(frozen=True)
class _Arrival:
    """An event as a confirmation received it, and when."""

    event: PaymentEvent
    now: datetime


@dataclass(frozen=True)
class _Prepared:
    """What step 1 found for an event: its booking (None: unknown), and for a booking awaiting a
    matching payment the claim on its seats, or that its connected cinema is to be asked."""

    booked: BookingFacts | None
    claim: _SeatClaim | None = None
    at_theatre: bool = False


@dataclass(frozen=True)
class _ToSettle:
    """A payment ready for its settling transaction: the event, its booking as read, what step 1 found."""

    event: PaymentEvent
    booked: BookingFacts
    claim: _SeatClaim | None
    step: TheatreStep | None
    reminder_minutes: int
    now: datetime


@dataclass(frozen=True)
class _PendingSale:
    """A payment that buys its booking, unless a seat turns out sold when the sales of its transaction
    are written together."""

    item: _ToSettle
    sale: Sale
    payment: Payment
    late: bool


# A payment in one of these states was handled before; an expired checkout may still turn out paid.
_SETTLED = (PaymentStatus.PAID, PaymentStatus.REFUND_PENDING, PaymentStatus.REFUNDED)

_REFUSAL_REASONS = {
    HoldRefusalReason.SEAT_TAKEN: "seats taken by someone else after the hold expired",
    HoldRefusalReason.WAITLIST_FIRST: "seats passed to the waitlist after the hold expired",
    HoldRefusalReason.SEAT_SOLD: "seats sold to someone else after the hold expired",
    HoldRefusalReason.SHOW_STARTED: "show started or no longer on sale",
    HoldRefusalReason.UNKNOWN_SEAT: "seats no longer part of the show",
    HoldRefusalReason.TOO_MANY_SEATS: "more seats than one booking may have",
}


class ConfirmationTurns:
    """The turns one process's confirmations share: step 1 for those arriving meanwhile (their
    bookings read in one statement, their holds looked up in one Redis round trip), then step 2 (their
    settling transaction, booking_core.bookings.settling)."""

    def __init__(self, sessions: SessionFactory, holds: HoldStore, reads: SessionFactory | None) -> None:
        # One turn for both steps (and for the worker's reads of the stored events before them): while
        # one group settles, the confirmations arriving meanwhile queue for step 1, and so on; each step
        # then serves as many as came meanwhile, in the same statements as it would serve one.
        self.turn = asyncio.Lock()
        self.preparing: Batches[_Arrival, _Prepared] = Batches(
            partial(_prepare, reads or sessions, holds), turn=self.turn
        )
        self.settling: SettlingTurns[_ToSettle, _Settled] = SettlingTurns(sessions, _settle_group, self.turn)

    @property
    def waiting(self) -> int:
        """How many confirmations wait for a turn now, at either step."""
        return self.preparing.waiting + self.settling.waiting


async def confirm_payment(
    sessions: SessionFactory,
    holds: HoldStore,
    events: EventSink,
    event: PaymentEvent,
    *,
    reminder_minutes: int,
    now: datetime | None = None,
    reads: SessionFactory | None = None,
    turns: ConfirmationTurns | None = None,
) -> ConfirmationResult:
    """Apply one verified provider event; idempotent, safe to run twice or concurrently for the same event.

    `reads` (default: `sessions`) serves the reads before the transaction; they need not see a write
    lock's holder, since the transaction locks the booking and decides on what it finds then. `turns`
    (one per process, made with the same `sessions`, `holds` and `reads`) lets each step be shared with
    the other payments confirming at the same time; without it the steps are this event's alone.
    """
    arrival = _Arrival(event, now or utc_now())
    if turns is None:
        found = await alone(partial(_prepare, reads or sessions, holds), arrival)
    else:
        found = await turns.preparing.submit(arrival)
    if found.booked is None:
        result = ConfirmationResult(ConfirmationOutcome.UNKNOWN_BOOKING, reason="no booking for this payment")
        await _record_outcome_alone(sessions, event, result, arrival.now)
        return result
    claim, step = found.claim, None
    if found.at_theatre:
        step = await sell_at_theatre(holds, found.booked, arrival.now)
        if step is None:  # no longer a connected cinema's show: Redis decides after all
            claim = await alone(partial(_claim_seats, holds), (found.booked, arrival.now))
    item = _ToSettle(event, found.booked, claim, step, reminder_minutes, arrival.now)
    # Step 2: one transaction with the booking row locked, shared with the payments settling meanwhile.
    settling = turns.settling if turns is not None else SettlingTurns(sessions, _settle_group)
    settlement = (await settling.settle(found.booked.id, item)).settlement
    await _after_commit(holds, events, settlement, claim, step)
    return settlement.result


def _awaits_payment(booked: BookingFacts) -> bool:
    return booked.status in (BookingStatus.PENDING_PAYMENT, BookingStatus.EXPIRED)


def _amount_matches(event: PaymentEvent, booked: BookingFacts) -> bool:
    return (
        event.amount_minor == booked.amount_minor
        and (event.currency or "").upper() == booked.currency.upper()
    )


async def _prepare(
    reads: SessionFactory, holds: HoldStore, arrivals: Sequence[_Arrival]
) -> list[_Prepared | Exception]:
    """Step 1 for several events: their bookings, and for each booking awaiting a matching payment
    the Redis hold that makes its seats ours (or, at a connected cinema, that its theatre decides)."""
    bookings = await _read_bookings(reads, [arrival.event for arrival in arrivals])
    prepared: list[_Prepared | Exception] = [_Prepared(booked) for booked in bookings]
    buying = [
        n
        for n, (arrival, booked) in enumerate(zip(arrivals, bookings, strict=True))
        if booked is not None
        and arrival.event.kind == PaymentEventKind.COMPLETED
        and _awaits_payment(booked)
        and _amount_matches(arrival.event, booked)
    ]
    local: list[int] = []
    for n in buying:
        try:
            connected = holds.theatre is not None and await holds.theatre.connected(
                _known(bookings[n]).show_id
            )
        except Exception as exc:
            prepared[n] = exc
            continue
        if connected:
            # Its theatre answers after this turn: the answer waits on the theatre's network.
            prepared[n] = _Prepared(bookings[n], at_theatre=True)
        else:
            local.append(n)
    claims = await _claim_seats(holds, [(_known(bookings[n]), arrivals[n].now) for n in local])
    for n, claim in zip(local, claims, strict=True):
        prepared[n] = claim if isinstance(claim, Exception) else _Prepared(bookings[n], claim=claim)
    return prepared


def _known(booked: BookingFacts | None) -> BookingFacts:
    assert booked is not None
    return booked


async def _read_bookings(
    sessions: SessionFactory, events: Sequence[PaymentEvent]
) -> list[BookingFacts | None]:
    """Each event's booking: of its recorded checkout (all of them in one statement); a refund's
    metadata or payment id names it before its completion."""
    checkouts = [event for event in events if event.checkout_id is not None]
    async with sessions() as session:
        by_checkout: dict[tuple[str, str], BookingFacts] = {}
        if checkouts:
            query = (
                booking_facts_query()
                .add_columns(Payment.provider, Payment.checkout_id)
                .join(Payment, Payment.booking_id == Booking.id)
                .where(
                    Payment.provider.in_({event.provider for event in checkouts}),
                    Payment.checkout_id.in_({event.checkout_id for event in checkouts}),
                )
            )
            rows = (await session.execute(query)).all()
            facts = booking_facts_of(rows)
            by_checkout = {(row.provider, row.checkout_id): facts[row.id] for row in rows}
        found: list[BookingFacts | None] = []
        for event in events:
            booked = by_checkout.get((event.provider, event.checkout_id or ""))
            if booked is None and event.kind != PaymentEventKind.COMPLETED:
                booked = await _booking_named_by(session, event)
            found.append(booked)
        return found


async def _booking_named_by(session: AsyncSession, event: PaymentEvent) -> BookingFacts | None:
    """The booking a refund, expiry or failure names without a recorded checkout."""
    booking_id = None
    if event.booking_id is not None:
        booking_id = event.booking_id
    elif event.payment_id is not None:
        booking_id = await session.scalar(
            select(Payment.booking_id).where(
                Payment.provider == event.provider, Payment.provider_payment_id == event.payment_id
            )
        )
    found = await booking_facts(session, [booking_id]) if booking_id is not None else []
    return found[0] if found else None


async def _claim_seats(
    holds: HoldStore, bookings: Sequence[tuple[BookingFacts, datetime]]
) -> list[_SeatClaim | Exception]:
    """The holds that make these bookings' seats ours in Redis (looked up in one round trip), taking
    the seats again for a late payment."""
    if not bookings:
        return []
    try:
        live = await holds.holds_by_token([(booked.show_id, booked.hold_token) for booked, _now in bookings])
    except (RedisError, OSError) as exc:
        return [_without_redis(booked, now, exc) for booked, now in bookings]
    claims: list[_SeatClaim | Exception] = []
    for (booked, now), hold in zip(bookings, live, strict=True):
        try:
            claims.append(await _claim_again(holds, booked, now, hold))
        except ConfirmationDeferred as exc:
            claims.append(exc)
    return claims


async def _claim_again(
    holds: HoldStore, booked: BookingFacts, now: datetime, live: Hold | None
) -> _SeatClaim:
    """The booking's live hold, or for a late payment the seats held again for the same user."""
    if _covers(live, booked):
        return _SeatClaim(token=booked.hold_token, late=False)
    # Late: honoured only if the same user can hold the same seats again, i.e. they are neither
    # sold nor held by anyone else (nor passed to the waitlist). One hold per user per show, so
    # this replaces any other selection the user has made since: the seats they paid for win.
    try:
        again = await holds.hold(booked.show_id, booked.user_id, booked.seat_ids, paid=True)
    except (RedisError, OSError) as exc:
        claim = _without_redis(booked, now, exc)
        if isinstance(claim, Exception):
            raise claim from exc
        return claim
    if isinstance(again, Hold):
        return _SeatClaim(token=again.token, late=True)
    if again.reason == HoldRefusalReason.RATE_LIMITED:
        raise ConfirmationDeferred(
            f"booking {booked.id}: hold attempts rate-limited for user {booked.user_id}"
        )
    return _SeatClaim(token=None, late=True, refusal=_REFUSAL_REASONS.get(again.reason, str(again.reason)))


def _without_redis(booked: BookingFacts, now: datetime, exc: Exception) -> _SeatClaim | Exception:
    """Redis is down: SQL alone decides while the hold was granted until later; after, wait for Redis."""
    if now < booked.hold_expires_at:
        log.warning("Redis unavailable while confirming booking %s: %s", booked.id, exc)
        return _SeatClaim(token=None, late=False)
    deferred = ConfirmationDeferred(f"booking {booked.id}: cannot check its seats in Redis")
    deferred.__cause__ = exc
    return deferred


def _covers(hold: Hold | None, booked: BookingFacts) -> bool:
    return (
        hold is not None
        and hold.user_id == booked.user_id
        and tuple(sorted(hold.seat_ids)) == booked.seat_ids
    )


async def _settle_group(
    session: AsyncSession, locked: Mapping[int, Booking], items: Sequence[_ToSettle]
) -> list[_Settled]:
    """Step 2 for the payments of one transaction, each on its own locked booking by its own rules:
    their payments read in one statement, their sales written together, their outcomes in one."""
    payments = await _Payments.read(session, list(locked), [item.event for item in items])
    decided = [await _settle_one(session, item, locked[item.booked.id], payments) for item in items]
    settled = await _write_sales(session, decided)
    await _record_outcomes(session, settled)
    return settled


async def _settle_one(
    session: AsyncSession, item: _ToSettle, booking: Booking, payments: _Payments
) -> _Settled | _PendingSale:
    event, booked = item.event, item.booked
    if event.kind == PaymentEventKind.COMPLETED:
        # The payment's and booking's changes go out once, at the commit, not before each query.
        with session.no_autoflush:
            decided = await _settle_completed(session, item, booking, payments)
        if isinstance(decided, _PendingSale):
            return decided
        settlement = decided
    elif event.kind == PaymentEventKind.EXPIRED:
        settlement = _settle_expired(session, event, booking, booked, payments)
    elif event.kind == PaymentEventKind.REFUNDED:
        settlement = await _settle_refunded(session, event, booking, booked, payments, item.now)
    else:  # FAILED: the customer may still pay on the same checkout page
        settlement = _Settlement(ConfirmationResult(ConfirmationOutcome.IGNORED, booking.id), booked)
    return _Settled(event, settlement, item.now)


async def _settle_completed(
    session: AsyncSession, item: _ToSettle, booking: Booking, payments: _Payments
) -> _Settlement | _PendingSale:
    event, booked, step = item.event, item.booked, item.step
    payment = payments.of(session, event, booking)
    if payment.status in _SETTLED:
        # This payment was settled before (a repeated or concurrent delivery): change nothing.
        standing = booking.status == BookingStatus.CONFIRMED
        outcome = ConfirmationOutcome.ALREADY_CONFIRMED if standing else ConfirmationOutcome.IGNORED
        return _Settlement(ConfirmationResult(outcome, booking.id), booked, sold=standing)
    if payments.refunded_before(event, payment):
        return _completed_after_refund(booking, booked, payment, event)
    payment.provider_payment_id = event.payment_id
    if booking.status not in (BookingStatus.PENDING_PAYMENT, BookingStatus.EXPIRED):
        # Paid twice (two checkouts), or paid after the booking was cancelled or superseded.
        already_paid = await _has_other_payment(session, booking.id, payment)
        reason = "booking already paid" if already_paid else f"payment arrived for a {booking.status} booking"
        return _refund_payment(booking, booked, payment, reason, event, keep_booking=already_paid)
    if not _amount_matches(event, booked):
        paid = f"{event.amount_minor} {(event.currency or '?').upper()}"
        reason = f"amount mismatch: paid {paid}, expected {booking.amount_minor} {booking.currency}"
        return _refund_payment(
            booking, booked, payment, reason, event, outcome=ConfirmationOutcome.AMOUNT_MISMATCH
        )
    if step is not None:
        verdict = theatre_verdict(session, booking, booked, payment, step, item.now)
        if verdict.waiting:
            result = ConfirmationResult(ConfirmationOutcome.PAID_UNCONFIRMED, booking.id, step.attempt.reason)
            return _Settlement(result, booked)
        refusal, late, ticket_id = verdict.refusal, verdict.late, verdict.ticket_id
    else:
        assert item.claim is not None  # taken in step 1 for every booking awaiting a matching payment
        refusal, late, ticket_id = item.claim.refusal, item.claim.late, None
    if refusal is not None:
        return _refund_payment(booking, booked, payment, refusal, event)
    show = await _show_on_sale(session, booking.show_id)
    if not show.on_sale:
        return _refund_payment(booking, booked, payment, "show withdrawn", event)
    sale = Sale(booking, booked.seat_ids, show.starts_at, item.now, item.reminder_minutes, ticket_id)
    return _PendingSale(item, sale, payment, late)


async def _write_sales(session: AsyncSession, decided: Sequence[_Settled | _PendingSale]) -> list[_Settled]:
    """The sales of a transaction's payments written together; one that finds a seat sold is refunded."""
    pending = [sale for sale in decided if isinstance(sale, _PendingSale)]
    settled: list[_Settled] = []
    with session.no_autoflush:
        sold = await record_sales(session, [pending_sale.sale for pending_sale in pending])
        for done in decided:
            if isinstance(done, _PendingSale):
                settlement = await _sold(session, done, done.sale.booking.id in sold)
                done = _Settled(done.item.event, settlement, done.item.now)
            settled.append(done)
    return settled


async def _sold(session: AsyncSession, pending: _PendingSale, sold: bool) -> _Settlement:
    """What the sale of a pending one came to: a confirmed booking, or a refund (a seat was sold)."""
    booking, booked, payment, event = (
        pending.sale.booking,
        pending.item.booked,
        pending.payment,
        pending.item.event,
    )
    if not sold:
        settlement = _refund_payment(booking, booked, payment, "seats sold to someone else", event)
        settlement.sold_elsewhere = await _sold_seats(session, booking.show_id, booked.seat_ids)
        return settlement
    payment.status = PaymentStatus.PAID
    booking.status_reason = "paid after the hold expired; seats were still free" if pending.late else None
    outcome = ConfirmationOutcome.LATE_CONFIRMED if pending.late else ConfirmationOutcome.CONFIRMED
    return _Settlement(
        ConfirmationResult(outcome, booking.id),
        booked,
        sold=True,
        publish=BookingConfirmed(booking_id=booking.id, user_id=booked.user_id),
    )


async def _show_on_sale(session: AsyncSession, show_id: int) -> Row[bool, datetime]:
    """The show's on_sale and starts_at, read once per transaction (payments settling together are
    mostly for one show: a rush)."""
    shows: dict[int, Row[bool, datetime]] = session.info.setdefault("shows_on_sale", {})
    if show_id not in shows:
        query = select(Show.on_sale, Show.starts_at).where(Show.id == show_id)
        shows[show_id] = (await session.execute(query)).one()
    return shows[show_id]


class _Payments:
    """The payments rows a settling transaction needs, read in one statement: every payment of its
    bookings, and those refunded under a payment id one of its completions carries."""

    def __init__(self, rows: list[Payment]) -> None:
        self._rows = rows

    @classmethod
    async def read(
        cls, session: AsyncSession, booking_ids: list[int], events: list[PaymentEvent]
    ) -> _Payments:
        """Within the transaction, after the bookings are locked."""
        condition: ColumnElement[bool] = Payment.booking_id.in_(booking_ids)
        completions = {
            event.payment_id
            for event in events
            if event.kind == PaymentEventKind.COMPLETED and event.payment_id is not None
        }
        if completions:
            refunded = Payment.provider_payment_id.in_(completions), Payment.status == PaymentStatus.REFUNDED
            condition = or_(condition, and_(*refunded))
        return cls(list(await session.scalars(select(Payment).where(condition).order_by(Payment.id))))

    def of(self, session: AsyncSession, event: PaymentEvent, booking: Booking) -> Payment:
        """The payments row of this checkout or payment; created for a refund or expiry of one not
        recorded. A completion always finds its row: `_read_booking` found its booking through it."""
        for payment in self._rows:
            if payment.booking_id != booking.id or payment.provider != event.provider:
                continue
            if event.checkout_id is not None:
                if payment.checkout_id == event.checkout_id:
                    return payment
            elif event.payment_id is None or payment.provider_payment_id == event.payment_id:
                return payment
        payment = Payment(
            booking_id=booking.id,
            provider=event.provider,
            checkout_id=event.checkout_id or event.payment_id or event.event_id,
            checkout_url="",
            # A refund ahead of its completion: the completion finds it by this id (refunded_before).
            provider_payment_id=event.payment_id,
            status=PaymentStatus.OPEN,
            amount_minor=booking.amount_minor,
            currency=booking.currency,
        )
        session.add(payment)
        self._rows.append(payment)
        return payment

    def refunded_before(self, event: PaymentEvent, payment: Payment) -> bool:
        """True when the provider's refund of this payment arrived before its completion."""
        return event.payment_id is not None and any(
            other is not payment
            and other.provider == event.provider
            and other.provider_payment_id == event.payment_id
            and other.status == PaymentStatus.REFUNDED
            for other in self._rows
        )


def _completed_after_refund(
    booking: Booking, booked: BookingFacts, payment: Payment, event: PaymentEvent
) -> _Settlement:
    """A completion whose money is back already: never a sale; the booking goes if it still waited."""
    payment.status = PaymentStatus.REFUNDED
    payment.provider_payment_id = event.payment_id
    if booking.status not in (BookingStatus.PENDING_PAYMENT, BookingStatus.EXPIRED):
        result = ConfirmationResult(ConfirmationOutcome.REFUNDED, booking.id, REFUNDED_BEFORE_CONFIRMATION)
        return _Settlement(result, booked)
    return _refunded_booking(booking, booked, unsold=False)


async def _has_other_payment(session: AsyncSession, booking_id: int, payment: Payment) -> bool:
    taken = (PaymentStatus.PAID, PaymentStatus.REFUND_PENDING, PaymentStatus.REFUNDED)
    others = await session.scalars(
        select(Payment.id).where(
            Payment.booking_id == booking_id, Payment.status.in_(taken), Payment.id != payment.id
        )
    )
    return others.first() is not None


def _refund_payment(
    booking: Booking,
    booked: BookingFacts,
    payment: Payment,
    reason: str,
    event: PaymentEvent,
    *,
    keep_booking: bool = False,
    outcome: ConfirmationOutcome = ConfirmationOutcome.REFUND_PENDING,
) -> _Settlement:
    """Send back money that cannot buy this booking; the booking too, unless another payment holds it."""
    payment.status = PaymentStatus.REFUND_PENDING
    # What the provider actually took is what goes back.
    payment.amount_minor = event.amount_minor if event.amount_minor is not None else payment.amount_minor
    payment.currency = (event.currency or payment.currency).upper()
    if not keep_booking:
        booking.status = BookingStatus.REFUND_PENDING
        booking.status_reason = reason[:300]
    return _Settlement(
        ConfirmationResult(outcome, booking.id, reason),
        booked,
        sold=keep_booking and booking.status == BookingStatus.CONFIRMED,
        publish=RefundStarted(booking_id=booking.id, user_id=booked.user_id, reason=reason),
        booking_refunded=not keep_booking,
    )


async def _sold_seats(session: AsyncSession, show_id: int, seat_ids: tuple[int, ...]) -> tuple[int, ...]:
    rows = await session.scalars(
        select(BookedSeat.seat_id).where(BookedSeat.show_id == show_id, BookedSeat.seat_id.in_(seat_ids))
    )
    return tuple(sorted(rows))


def _settle_expired(
    session: AsyncSession, event: PaymentEvent, booking: Booking, booked: BookingFacts, payments: _Payments
) -> _Settlement:
    payment = payments.of(session, event, booking)
    if payment.status == PaymentStatus.OPEN:
        payment.status = PaymentStatus.EXPIRED
    if booking.status not in (BookingStatus.PENDING_PAYMENT, BookingStatus.EXPIRED):
        # Most often an expiry that lost the race with the payment: the sale stands.
        return _Settlement(ConfirmationResult(ConfirmationOutcome.IGNORED, booking.id), booked)
    booking.status = BookingStatus.EXPIRED
    booking.status_reason = "checkout expired unpaid"
    return _Settlement(ConfirmationResult(ConfirmationOutcome.EXPIRED, booking.id), booked)


# What the customer is told (and the booking's reason) when the provider reports their money back.
REFUNDED_AT_PROVIDER = "your payment was refunded, so the ticket is cancelled"
REFUNDED_BEFORE_CONFIRMATION = "your payment was refunded before the booking was confirmed"


async def _settle_refunded(
    session: AsyncSession,
    event: PaymentEvent,
    booking: Booking,
    booked: BookingFacts,
    payments: _Payments,
    now: datetime,
) -> _Settlement:
    payment = payments.of(session, event, booking)
    standing = booking.status == BookingStatus.CONFIRMED
    if event.amount_minor is not None and event.amount_minor < payment.amount_minor:
        # A partial refund (a goodwill gesture at the provider's dashboard) leaves the booking standing.
        reason = f"partially refunded at the provider ({event.amount_minor} of {payment.amount_minor})"
        log.warning("booking %s: %s", booking.id, reason)
        return _Settlement(
            ConfirmationResult(ConfirmationOutcome.IGNORED, booking.id, reason), booked, sold=standing
        )
    previously = payment.status
    payment.status = PaymentStatus.REFUNDED
    if booking.status == BookingStatus.REFUND_PENDING:
        booking.status = BookingStatus.REFUNDED
        return _Settlement(ConfirmationResult(ConfirmationOutcome.REFUNDED, booking.id), booked)
    # Money back that Marquee did not send back: the payment that bought the booking, or one that
    # arrives ahead of its completion. A refund Marquee asked for (a second payment) changes nothing more.
    sale_refunded = standing and previously == PaymentStatus.PAID
    unpaid_refunded = _awaits_payment(booked) and previously in (PaymentStatus.OPEN, PaymentStatus.EXPIRED)
    if not (sale_refunded or unpaid_refunded):
        return _Settlement(
            ConfirmationResult(ConfirmationOutcome.REFUNDED, booking.id), booked, sold=standing
        )
    theatre_ticket = await void_sale(session, booking.id, now) if sale_refunded else None
    settlement = _refunded_booking(booking, booked, unsold=sale_refunded)
    settlement.voided_theatre_ticket = theatre_ticket
    return settlement


def _refunded_booking(booking: Booking, booked: BookingFacts, *, unsold: bool) -> _Settlement:
    """The provider gave the booking's money back: it ends `refunded` and the customer is told.

    `unsold`: it had been sold (its sale is void already); otherwise it was still awaiting payment.
    """
    reason = REFUNDED_AT_PROVIDER if unsold else REFUNDED_BEFORE_CONFIRMATION
    booking.status = BookingStatus.REFUNDED
    booking.status_reason = reason
    return _Settlement(
        ConfirmationResult(ConfirmationOutcome.REFUNDED, booking.id, reason),
        booked,
        publish=RefundStarted(booking_id=booking.id, user_id=booked.user_id, reason=reason),
        booking_refunded=not unsold,
        unsold=unsold,
    )


_EVENTS = cast(Table, PaymentEventRow.__table__)
# A Core statement, run once for many events (the ORM's would flush before it and take no list).
# The first settlement is the one that happened; a duplicate run must not relabel it.
_RECORD_OUTCOME = (
    update(_EVENTS)
    .where(
        _EVENTS.c.provider == bindparam("event_provider"),
        _EVENTS.c.event_id == bindparam("event_event_id"),
        _EVENTS.c.processed_at.is_(None),
    )
    .values(
        processed_at=bindparam("event_processed_at"),
        outcome=bindparam("event_outcome"),
        error=bindparam("event_error"),
    )
)


async def _record_outcomes(session: AsyncSession, settled: Sequence[_Settled]) -> None:
    """Write each event's outcome onto its stored row (one statement for them all)."""
    await session.execute(
        _RECORD_OUTCOME,
        [
            {
                "event_provider": done.event.provider,
                "event_event_id": done.event.event_id,
                "event_processed_at": done.now,
                "event_outcome": done.settlement.result.outcome.value,
                "event_error": done.settlement.result.reason,
            }
            for done in settled
        ],
    )


async def _record_outcome_alone(
    sessions: SessionFactory, event: PaymentEvent, result: ConfirmationResult, now: datetime
) -> None:
    async with sessions() as session, session.begin():
        await _record_outcomes(session, [_Settled(event, _Settlement(result), now)])


async def _after_commit(
    holds: HoldStore,
    events: EventSink,
    settlement: _Settlement,
    claim: _SeatClaim | None,
    step: TheatreStep | None = None,
) -> None:
    """Step 3: bring Redis (and a connected theatre) in line with what SQL decided, then tell the user."""
    booked = settlement.booking
    if booked is not None and settlement.voided_theatre_ticket is not None:
        await cancel_at_theatre(holds, booked, settlement.voided_theatre_ticket)
    if booked is not None:
        try:
            if step is not None:
                await after_theatre_sale(
                    holds, booked, step, sold=settlement.sold, refunded=settlement.booking_refunded
                )
            else:
                await _update_holds(holds, settlement, booked, claim)
        except (RedisError, OSError) as exc:
            # The sale (or refund) is committed; Redis is only a cache of it and rebuilds from SQL.
            log.warning("booking %s settled but Redis not updated: %s", booked.id, exc)
    if settlement.publish is not None:
        await events.publish(settlement.publish)


async def _update_holds(
    holds: HoldStore, settlement: _Settlement, booked: BookingFacts, claim: _SeatClaim | None
) -> None:
    token = claim.token if claim is not None else None
    if settlement.unsold:
        # Sold no more: the seats go to the waitlist first, else back to the public.
        await holds.mark_unsold(booked.show_id, booked.seat_ids)
        return
    if settlement.sold:
        # Seats into the sold cache and the hold that covered them gone, without handing them on
        # (the booking's own token when nothing was claimed: Redis was down, or this is a repeat).
        await holds.mark_sold(booked.show_id, booked.seat_ids, token or booked.hold_token)
        return
    if token is not None and settlement.sold_elsewhere:
        # Redis believed sold seats free: teach it they are sold while dropping our hold, so they
        # are not handed to the waitlist or the public; the hold's other seats are freed.
        await holds.mark_sold(booked.show_id, settlement.sold_elsewhere, token)
    elif token is not None:
        await holds.release(booked.show_id, token)
    elif _awaits_payment(booked) and settlement.result.outcome != ConfirmationOutcome.IGNORED:
        # Nothing was claimed (amount mismatch): free the booking's own hold if it is still live.
        await holds.release(booked.show_id, booked.hold_token)

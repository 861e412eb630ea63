"""Confirming payments: one sale per payment, never a seat sold twice, never money silently kept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import select

from booking_core.bookings.cancellation import mark_refunded, refund_due
from booking_core.bookings.checkout import record_checkout
from booking_core.bookings.confirmation import ConfirmationOutcome, ConfirmationResult
from booking_core.bookings.customers import set_phone
from booking_core.database import SessionFactory
from booking_core.events import BookingConfirmed, CollectingSink, RefundStarted
from booking_core.holds.errors import HoldRefusalReason
from booking_core.holds.store import Hold, HoldStore
from booking_core.models import BookingStatus, Notification, Ticket
from booking_core.models import PaymentEvent as PaymentEventRow
from booking_core.payments.port import PaymentEvent, PaymentEventKind
from booking_core.tickets.codes import is_valid_ticket_code
from tests.bookings.flow import (
    booking_row,
    buy_until_checkout,
    confirm,
    payment,
    payments_of,
    sold_seats,
    store_event,
    ticket_count,
)
from tests.conftest import postgresql_only
from tests.factories import make_show
from tests.support.clocks import HandClock

Outcome = ConfirmationOutcome


async def _refused_to(
    holds: HoldStore, show_id: int, user_id: int, seats: list[int]
) -> HoldRefusalReason | None:
    """Why Redis refuses these seats to another user now (None: it would let them have them, then lets go)."""
    result = await holds.hold(show_id, user_id, seats)
    if isinstance(result, Hold):
        await holds.release(show_id, result.token)
        return None
    return result.reason


async def test_a_payment_sells_the_seats_issues_a_ticket_and_writes_the_outbox(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    # Given a user paying for two seats, with a phone number on file
    show = await make_show(sessions)
    seats = show.seat_ids[:2]
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 100, seats)
    await set_phone(sessions, 100, "+442079460958")
    event = payment(checkout)
    await store_event(sessions, event)

    # When the provider reports the payment
    result = await confirm(sessions, holds, sink, event)

    # Then the seats are sold to this booking in SQL and in Redis, and the hold is gone
    assert result == ConfirmationResult(Outcome.CONFIRMED, checkout.booking_id)
    assert await sold_seats(sessions, show.show_id) == {seat: [checkout.booking_id] for seat in seats}
    assert await holds.hold_by_token(show.show_id, checkout.hold.token) is None
    assert await _refused_to(holds, show.show_id, 101, seats) == HoldRefusalReason.SEAT_SOLD
    # And there is one ticket with a valid code, ticket messages for Telegram and SMS, and a reminder
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.booking_id == checkout.booking_id))
        rows = await session.execute(
            select(Notification.channel, Notification.kind).where(
                Notification.booking_id == checkout.booking_id
            )
        )
        stored = await session.scalar(
            select(PaymentEventRow).where(PaymentEventRow.event_id == event.event_id)
        )
    assert ticket is not None and is_valid_ticket_code(ticket.code) and ticket.theatre_ticket_id is None
    assert sorted(tuple(row) for row in rows) == [
        ("sms", "ticket"),
        ("telegram", "reminder"),
        ("telegram", "ticket"),
    ]
    assert stored is not None and (stored.outcome, stored.processed_at is not None) == ("confirmed", True)
    assert [(p.status, p.provider_payment_id) for p in await payments_of(sessions, checkout.booking_id)] == [
        ("paid", event.payment_id)
    ]
    assert sink.events == [BookingConfirmed(booking_id=checkout.booking_id, user_id=100)]


async def test_the_same_payment_confirmed_again_changes_nothing(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    show = await make_show(sessions)
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 110, show.seat_ids[:3])
    event = payment(checkout)

    first = await confirm(sessions, holds, sink, event)
    # The same event redelivered, and the provider's second event type for the same payment
    again = await confirm(sessions, holds, sink, event)
    other_id = await confirm(sessions, holds, sink, payment(checkout))

    assert [first.outcome, again.outcome, other_id.outcome] == [
        Outcome.CONFIRMED,
        Outcome.ALREADY_CONFIRMED,
        Outcome.ALREADY_CONFIRMED,
    ]
    assert await ticket_count(sessions, checkout.booking_id) == 1
    assert len(sink.events) == 1
    assert await refund_due(sessions) == []


@postgresql_only
async def test_concurrent_duplicate_confirmations_make_one_booking(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    # Given two bookings, each paid once but its event delivered many times at once (one of them late)
    show = await make_show(sessions)
    on_time = await buy_until_checkout(sessions, holds, show.show_id, 120, show.seat_ids[:2])
    late = await buy_until_checkout(sessions, holds, show.show_id, 121, show.seat_ids[2:4])
    await holds.release(show.show_id, late.hold.token)  # its hold is gone: every delivery re-holds
    deliveries = [payment(on_time, event_id="evt_dup_a")] * 8 + [payment(late, event_id="evt_dup_b")] * 8

    results = await asyncio.gather(*(confirm(sessions, holds, sink, event) for event in deliveries))

    outcomes = [result.outcome for result in results]
    assert outcomes[:8].count(Outcome.CONFIRMED) == 1
    assert outcomes[:8].count(Outcome.ALREADY_CONFIRMED) == 7
    assert outcomes[8:].count(Outcome.LATE_CONFIRMED) == 1
    assert outcomes[8:].count(Outcome.ALREADY_CONFIRMED) == 7
    assert await ticket_count(sessions, on_time.booking_id) == 1
    assert await ticket_count(sessions, late.booking_id) == 1
    sold = await sold_seats(sessions, show.show_id)
    assert sold == {seat: [on_time.booking_id] for seat in show.seat_ids[:2]} | {
        seat: [late.booking_id] for seat in show.seat_ids[2:4]
    }
    assert len(sink.events) == 2
    # No hold made by a duplicate is left behind to free sold seats later
    assert await holds.current_hold(show.show_id, 121) is None


@pytest.mark.parametrize(
    ("amount", "currency"), [(1, "eur"), (2399, "eur"), (2400, "usd"), (None, "eur"), (2400, None)]
)
async def test_a_payment_of_another_amount_or_currency_is_refunded_not_confirmed(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink, amount: int | None, currency: str | None
) -> None:
    show = await make_show(sessions)
    seats = show.seat_ids[:2]
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 130, seats)
    event = PaymentEvent(
        provider="stripe",
        event_id=f"evt_mismatch_{amount}_{currency}",
        kind=PaymentEventKind.COMPLETED,
        checkout_id=checkout.checkout_id,
        booking_id=checkout.booking_id,
        amount_minor=amount,
        currency=currency,
        payment_id="pi_mismatch",
        raw=b"{}",
    )
    await store_event(sessions, event)

    result = await confirm(sessions, holds, sink, event)

    assert result.outcome == Outcome.AMOUNT_MISMATCH and "amount mismatch" in (result.reason or "")
    booking = await booking_row(sessions, checkout.booking_id)
    assert (booking.status, booking.status_reason) == (BookingStatus.REFUND_PENDING, result.reason)
    assert await sold_seats(sessions, show.show_id) == {}
    assert await ticket_count(sessions, checkout.booking_id) == 0
    # The seats are free again for others
    assert await _refused_to(holds, show.show_id, 131, seats) is None
    async with sessions() as session:
        stored = await session.scalar(
            select(PaymentEventRow).where(PaymentEventRow.event_id == event.event_id)
        )
    assert stored is not None and (stored.outcome, stored.error) == ("amount_mismatch", result.reason)
    # What was taken goes back
    [due] = await refund_due(sessions)
    assert (due.booking_id, due.payment_reference) == (checkout.booking_id, "pi_mismatch")
    assert due.amount_minor == (2400 if amount is None else amount)
    assert sink.events == [RefundStarted(checkout.booking_id, 130, result.reason or "")]


async def test_an_expiry_after_the_payment_changes_nothing(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    show = await make_show(sessions)
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 140, show.seat_ids[:1])
    await confirm(sessions, holds, sink, payment(checkout))

    result = await confirm(sessions, holds, sink, payment(checkout, PaymentEventKind.EXPIRED))

    assert result.outcome == Outcome.IGNORED
    assert (await booking_row(sessions, checkout.booking_id)).status == BookingStatus.CONFIRMED
    assert [p.status for p in await payments_of(sessions, checkout.booking_id)] == ["paid"]
    assert await _refused_to(holds, show.show_id, 141, show.seat_ids[:1]) == HoldRefusalReason.SEAT_SOLD


async def test_an_expired_checkout_frees_the_seats_and_a_failed_attempt_does_not(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    show = await make_show(sessions)
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 150, show.seat_ids[:1])

    failed = await confirm(sessions, holds, sink, payment(checkout, PaymentEventKind.FAILED))
    held_after_failure = await holds.hold_by_token(show.show_id, checkout.hold.token)
    expired = await confirm(sessions, holds, sink, payment(checkout, PaymentEventKind.EXPIRED))

    assert (failed.outcome, expired.outcome) == (Outcome.IGNORED, Outcome.EXPIRED)
    assert held_after_failure is not None
    assert (await booking_row(sessions, checkout.booking_id)).status == BookingStatus.EXPIRED
    assert await _refused_to(holds, show.show_id, 151, show.seat_ids[:1]) is None


async def test_a_payment_reported_after_its_checkout_expired_is_still_settled(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    # Given a checkout whose expiry was reported first (events come in no guaranteed order)
    show = await make_show(sessions)
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 155, show.seat_ids[:1])
    await confirm(sessions, holds, sink, payment(checkout, PaymentEventKind.EXPIRED))

    # When its payment is reported after all
    result = await confirm(sessions, holds, sink, payment(checkout))

    # Then the seats, still free, are sold: the money is not kept for nothing
    assert result.outcome == Outcome.LATE_CONFIRMED
    assert await sold_seats(sessions, show.show_id) == {show.seat_ids[0]: [checkout.booking_id]}


async def test_a_payment_for_no_booking_we_know_is_flagged(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    event = PaymentEvent(
        "stripe", "evt_stranger", PaymentEventKind.COMPLETED, "cs_nobody", None, 500, "eur", "pi_x", b"{}"
    )
    await store_event(sessions, event)
    result = await confirm(sessions, holds, sink, event)
    assert result.outcome == Outcome.UNKNOWN_BOOKING
    async with sessions() as session:
        stored = await session.scalar(
            select(PaymentEventRow).where(PaymentEventRow.event_id == "evt_stranger")
        )
    assert stored is not None and stored.outcome == "unknown_booking"


async def test_a_second_payment_of_a_paid_booking_goes_back(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    # Given a booking paid on its checkout
    show = await make_show(sessions)
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 160, show.seat_ids[:1])
    await confirm(sessions, holds, sink, payment(checkout))
    # When a second checkout of the same booking is paid too (e.g. two tabs)
    await record_checkout(sessions, checkout.booking_id, "stripe", "cs_second_tab", "http://127.0.0.1/pay/2")
    second = payment(checkout)
    second = PaymentEvent(**{**second.__dict__, "checkout_id": "cs_second_tab", "payment_id": "pi_second"})
    result = await confirm(sessions, holds, sink, second)

    # Then the booking stands and the second payment is refunded
    assert result.outcome == Outcome.REFUND_PENDING
    assert (await booking_row(sessions, checkout.booking_id)).status == BookingStatus.CONFIRMED
    [due] = await refund_due(sessions)
    assert (due.payment_reference, due.reason is not None) == ("pi_second", True)
    assert await mark_refunded(sessions, checkout.booking_id, "re_1", payment_reference="pi_second")
    assert [p.status for p in await payments_of(sessions, checkout.booking_id)] == ["paid", "refunded"]
    assert (await booking_row(sessions, checkout.booking_id)).status == BookingStatus.CONFIRMED
    assert await refund_due(sessions) == []


async def test_expiry_late_payment_is_honoured_only_while_the_seats_are_free(
    sessions: SessionFactory, make_holds: Callable[..., HoldStore], sink: CollectingSink
) -> None:
    # Given holds on a clock the test moves: A pays late for A1-A2, B for A3-A4, C for A5
    clock = HandClock()
    holds = make_holds(clock=clock)
    show = await make_show(sessions)
    a1a2, a3a4, a5 = show.seat_ids[:2], show.seat_ids[2:4], show.seat_ids[4:5]
    late_free = await buy_until_checkout(sessions, holds, show.show_id, 170, a1a2)
    late_held = await buy_until_checkout(sessions, holds, show.show_id, 171, a3a4)
    late_sold = await buy_until_checkout(sessions, holds, show.show_id, 172, a5)
    clock.advance(301)  # past the five-minute holds
    # While they were paying their holds ran out: D took A3-A4, E took A5 and paid
    taker = await buy_until_checkout(sessions, holds, show.show_id, 173, a3a4)
    buyer = await buy_until_checkout(sessions, holds, show.show_id, 174, a5)
    assert (await confirm(sessions, holds, sink, payment(buyer))).outcome == Outcome.CONFIRMED

    # When the late payments arrive
    results = [await confirm(sessions, holds, sink, payment(c)) for c in (late_free, late_held, late_sold)]

    # Then only the one whose seats nobody took is a sale; the others go back with a reason
    assert [r.outcome for r in results] == [
        Outcome.LATE_CONFIRMED,
        Outcome.REFUND_PENDING,
        Outcome.REFUND_PENDING,
    ]
    assert "taken" in (results[1].reason or "") and "sold" in (results[2].reason or "")
    for checkout, status in (
        (late_held, "refund_pending"),
        (late_sold, "refund_pending"),
        (late_free, "confirmed"),
    ):
        assert (await booking_row(sessions, checkout.booking_id)).status == status
    # D's hold was not disturbed, and D's payment is honoured
    assert await holds.hold_by_token(show.show_id, taker.hold.token) is not None
    assert (await confirm(sessions, holds, sink, payment(taker))).outcome == Outcome.CONFIRMED
    sold = await sold_seats(sessions, show.show_id)
    assert sold == {a1a2[0]: [late_free.booking_id], a1a2[1]: [late_free.booking_id]} | {
        seat: [taker.booking_id] for seat in a3a4
    } | {a5[0]: [buyer.booking_id]}
    assert sorted(due.booking_id for due in await refund_due(sessions)) == sorted(
        [late_held.booking_id, late_sold.booking_id]
    )


async def test_a_refund_reported_by_the_provider_completes_it(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    show = await make_show(sessions)
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 180, show.seat_ids[:1])
    await confirm(sessions, holds, sink, payment(checkout, amount_minor=5))
    refunded = PaymentEvent(
        "stripe",
        "evt_refunded",
        PaymentEventKind.REFUNDED,
        None,
        None,
        5,
        "eur",
        f"pi_{checkout.checkout_id}",
        b"{}",
    )

    result = await confirm(sessions, holds, sink, refunded)

    assert result.outcome == Outcome.REFUNDED
    assert (await booking_row(sessions, checkout.booking_id)).status == BookingStatus.REFUNDED
    assert await refund_due(sessions) == []

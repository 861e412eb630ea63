"""Cancelling: unpaid at any time, paid until the cut-off; seats go back, money goes back."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from booking_core.bookings.cancellation import (
    Cancelled,
    CancelRefusal,
    CancelRefused,
    cancel_booking,
    mark_refunded,
    refund_due,
)
from booking_core.bookings.confirmation import ConfirmationOutcome
from booking_core.bookings.customers import get_or_create_customer
from booking_core.database import SessionFactory
from booking_core.events import CollectingSink, OfferMade, RefundStarted
from booking_core.holds.store import Hold, HoldRefused, HoldStore
from booking_core.models import BookingStatus, Notification, Ticket, utc_now
from tests.bookings.flow import (
    booking_row,
    buy_until_checkout,
    check_out,
    confirm,
    payment,
    payments_of,
    sold_seats,
)
from tests.factories import make_show

CUTOFF = timedelta(minutes=60)


async def test_an_unpaid_booking_is_cancelled_and_its_seats_freed(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    show = await make_show(sessions)
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 200, show.seat_ids[:2])

    result = await cancel_booking(sessions, holds, sink, checkout.booking_id, 200, cancel_cutoff=CUTOFF)

    assert isinstance(result, Cancelled) and not result.refund_started
    assert [c.checkout_id for c in result.checkouts_to_expire] == [checkout.checkout_id]
    assert (await booking_row(sessions, checkout.booking_id)).status == BookingStatus.CANCELLED
    assert isinstance(await holds.hold(show.show_id, 201, show.seat_ids[:2]), Hold)
    # If the customer manages to pay anyway, the money goes back
    late = await confirm(sessions, holds, sink, payment(checkout))
    assert late.outcome == ConfirmationOutcome.REFUND_PENDING
    assert [due.booking_id for due in await refund_due(sessions)] == [checkout.booking_id]
    assert await sold_seats(sessions, show.show_id) == {}


async def test_a_paid_booking_is_cancelled_before_the_cutoff_and_refunded(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    # Given a confirmed booking for a show tomorrow
    show = await make_show(sessions)
    seats = show.seat_ids[:2]
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 210, seats)
    await confirm(sessions, holds, sink, payment(checkout))
    sink.events.clear()

    # When the customer cancels it
    result = await cancel_booking(sessions, holds, sink, checkout.booking_id, 210, cancel_cutoff=CUTOFF)

    # Then the seats are no longer sold, in SQL or in Redis, and another customer can buy them
    assert result == Cancelled(checkout.booking_id, refund_started=True, seat_ids=tuple(sorted(seats)))
    assert await sold_seats(sessions, show.show_id) == {}
    again = await buy_until_checkout(sessions, holds, show.show_id, 211, seats)
    assert (await confirm(sessions, holds, sink, payment(again))).outcome == ConfirmationOutcome.CONFIRMED
    # And the ticket is void, the reminder will not go, and the payment is due back
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.booking_id == checkout.booking_id))
        reminder = await session.scalar(
            select(Notification).where(
                Notification.booking_id == checkout.booking_id, Notification.kind == "reminder"
            )
        )
    assert ticket is not None and ticket.cancelled_at is not None
    assert reminder is not None and reminder.status == "failed"
    assert sink.events[0] == RefundStarted(checkout.booking_id, 210, "cancelled by the customer")
    [due] = await refund_due(sessions)
    assert (due.booking_id, due.amount_minor, due.currency) == (checkout.booking_id, 2400, "EUR")
    assert due.idempotency_key == (await refund_due(sessions))[0].idempotency_key
    assert await mark_refunded(sessions, checkout.booking_id, "re_123")
    assert not await mark_refunded(sessions, checkout.booking_id, "re_123")
    assert [(p.status, p.refund_id) for p in await payments_of(sessions, checkout.booking_id)] == [
        ("refunded", "re_123")
    ]
    assert (await booking_row(sessions, checkout.booking_id)).status == BookingStatus.CANCELLED
    assert await refund_due(sessions) == []


async def test_no_cancelling_within_the_cutoff_nor_someone_elses_booking(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    show = await make_show(sessions, starts_at=utc_now() + timedelta(minutes=90))
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 220, show.seat_ids[:1])
    await confirm(sessions, holds, sink, payment(checkout))

    stranger = await cancel_booking(sessions, holds, sink, checkout.booking_id, 221, cancel_cutoff=CUTOFF)
    in_time = utc_now() + timedelta(minutes=29)
    too_late = await cancel_booking(
        sessions,
        holds,
        sink,
        checkout.booking_id,
        220,
        cancel_cutoff=CUTOFF,
        now=in_time + timedelta(minutes=2),
    )

    assert stranger == CancelRefused(CancelRefusal.NOT_FOUND)
    assert too_late == CancelRefused(CancelRefusal.TOO_LATE)
    assert (await booking_row(sessions, checkout.booking_id)).status == BookingStatus.CONFIRMED
    # Cancelled once, it cannot be cancelled twice
    assert isinstance(
        await cancel_booking(sessions, holds, sink, checkout.booking_id, 220, cancel_cutoff=CUTOFF), Cancelled
    )
    assert await cancel_booking(sessions, holds, sink, checkout.booking_id, 220, cancel_cutoff=CUTOFF) == (
        CancelRefused(CancelRefusal.NOT_CANCELLABLE)
    )


async def test_a_connected_cinemas_ticket_is_cancelled_at_the_cinema(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    show = await make_show(sessions, system="big-chain")
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 230, show.seat_ids[:1])
    await confirm(sessions, holds, sink, payment(checkout))
    result = await cancel_booking(sessions, holds, sink, checkout.booking_id, 230, cancel_cutoff=CUTOFF)
    assert result == CancelRefused(CancelRefusal.THEATRE_MANAGED)


async def test_seats_of_a_cancelled_sale_go_to_the_waitlist_first(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    # Given a sold-out show of two seats and a customer waiting for two
    show = await make_show(sessions, rows=1, seats_per_row=2)
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 240, show.seat_ids)
    await confirm(sessions, holds, sink, payment(checkout))
    await get_or_create_customer(sessions, 241, chat_id=241)
    assert not isinstance(await holds.waitlist.join(show.show_id, 241, 2), Hold)

    # When the buyer cancels
    await cancel_booking(sessions, holds, sink, checkout.booking_id, 240, cancel_cutoff=CUTOFF)

    # Then the waiter is offered the seats, the public cannot take them, and the waiter can buy them
    offer = await holds.current_hold(show.show_id, 241)
    assert offer is not None and offer.is_offer and offer.seat_ids == tuple(sorted(show.seat_ids))
    assert any(isinstance(event, OfferMade) and event.user_id == 241 for event in sink.events)
    assert isinstance(await holds.hold(show.show_id, 242, show.seat_ids[:1]), HoldRefused)
    resold = await check_out(sessions, holds, offer)
    assert (await confirm(sessions, holds, sink, payment(resold))).outcome == ConfirmationOutcome.CONFIRMED
    assert await sold_seats(sessions, show.show_id) == {seat: [resold.booking_id] for seat in show.seat_ids}

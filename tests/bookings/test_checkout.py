"""Starting to pay: a live hold becomes one `pending_payment` booking, priced on the server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, update

from booking_core.bookings.checkout import (
    CheckoutStarted,
    expire_lapsed_bookings,
    record_checkout,
    start_checkout,
)
from booking_core.bookings.errors import CheckoutRefusal, CheckoutRefused
from booking_core.database import SessionFactory
from booking_core.holds.store import Hold, HoldStore
from booking_core.models import BookingStatus, Show, ShowPrice, utc_now
from tests.bookings.flow import booking_row, buy_until_checkout, hold_seats, payments_of
from tests.conftest import postgresql_only
from tests.factories import make_show
from tests.support.clocks import HandClock


async def test_the_amount_comes_from_the_seats_categories(sessions: SessionFactory, holds: HoldStore) -> None:
    # Given a hall whose last row has two wheelchair places at 9.00 and standard seats at 12.00
    show = await make_show(sessions, rows=2, seats_per_row=4, wheelchair_seats=2)
    standard, wheelchair = show.seat_ids[0], show.seat_ids[4]
    hold = await hold_seats(sessions, holds, show.show_id, 1, [standard, wheelchair])

    # When the user goes to pay
    started = await start_checkout(sessions, holds, hold)

    # Then the booking awaits payment of 21.00 EUR until the hold ends
    assert isinstance(started, CheckoutStarted)
    assert (started.amount_minor, started.currency, started.expires_at) == (2100, "EUR", hold.expires_at)
    assert "A1, B1" in started.description
    booking = await booking_row(sessions, started.booking_id)
    assert (booking.status, booking.amount_minor, booking.hold_token) == ("pending_payment", 2100, hold.token)
    request = started.checkout_request()
    assert (request.booking_id, request.amount_minor, request.currency) == (started.booking_id, 2100, "EUR")


@postgresql_only
async def test_paying_for_one_hold_twice_at_once_makes_one_booking(
    sessions: SessionFactory, holds: HoldStore
) -> None:
    show = await make_show(sessions)
    hold = await hold_seats(sessions, holds, show.show_id, 2, show.seat_ids[:2])
    results = await asyncio.gather(*(start_checkout(sessions, holds, hold) for _ in range(6)))
    assert all(isinstance(result, CheckoutStarted) for result in results)
    assert len({result.booking_id for result in results if isinstance(result, CheckoutStarted)}) == 1


async def test_a_hold_that_is_gone_cannot_be_paid_for(
    sessions: SessionFactory, make_holds: Callable[..., HoldStore]
) -> None:
    # Given holds on a clock the test moves: one lapsed, one released
    clock = HandClock()
    holds = make_holds(clock=clock)
    show = await make_show(sessions)
    hold = await hold_seats(sessions, holds, show.show_id, 3, show.seat_ids[:1])
    released = await hold_seats(sessions, holds, show.show_id, 4, show.seat_ids[1:2])
    await holds.release(show.show_id, released.token)
    clock.advance(301)  # past the five-minute holds

    assert await start_checkout(sessions, holds, hold) == CheckoutRefused(CheckoutRefusal.HOLD_EXPIRED)
    assert await start_checkout(sessions, holds, released) == CheckoutRefused(CheckoutRefusal.HOLD_EXPIRED)
    # Someone else presenting another user's hold gets nowhere either
    other = await hold_seats(sessions, holds, show.show_id, 5, show.seat_ids[2:3])
    forged = Hold(other.token, other.show_id, 6, other.seat_ids, other.expires_at)
    assert await start_checkout(sessions, holds, forged) == CheckoutRefused(CheckoutRefusal.HOLD_EXPIRED)


async def test_a_show_withdrawn_or_without_a_price_is_not_sold(
    sessions: SessionFactory, holds: HoldStore
) -> None:
    show = await make_show(sessions, rows=2, seats_per_row=4, wheelchair_seats=1)
    unpriced = await hold_seats(sessions, holds, show.show_id, 7, [show.seat_ids[4]])
    withdrawn = await hold_seats(sessions, holds, show.show_id, 8, [show.seat_ids[0]])
    async with sessions() as session:
        await session.execute(
            delete(ShowPrice).where(ShowPrice.show_id == show.show_id, ShowPrice.category == "wheelchair")
        )
        await session.commit()
    assert await start_checkout(sessions, holds, unpriced) == CheckoutRefused(CheckoutRefusal.NO_PRICE)
    async with sessions() as session:
        await session.execute(update(Show).where(Show.id == show.show_id).values(on_sale=False))
        await session.commit()
    assert await start_checkout(sessions, holds, withdrawn) == CheckoutRefused(
        CheckoutRefusal.SHOW_UNAVAILABLE
    )


async def test_a_new_selection_supersedes_the_booking_awaiting_payment(
    sessions: SessionFactory, holds: HoldStore
) -> None:
    # Given a user paying for A1-A2 on an open checkout
    show = await make_show(sessions)
    first = await buy_until_checkout(sessions, holds, show.show_id, 9, show.seat_ids[:2])
    # When they go back, pick A3 instead and pay for that
    hold = await hold_seats(sessions, holds, show.show_id, 9, show.seat_ids[2:3])
    second = await start_checkout(sessions, holds, hold)
    # Then the first booking is cancelled and its checkout is to be expired at the provider
    assert isinstance(second, CheckoutStarted)
    assert [(c.booking_id, c.checkout_id) for c in second.superseded_checkouts] == [
        (first.booking_id, first.checkout_id)
    ]
    assert (await booking_row(sessions, first.booking_id)).status == BookingStatus.CANCELLED


async def test_recording_a_checkout_twice_keeps_one_row(sessions: SessionFactory, holds: HoldStore) -> None:
    show = await make_show(sessions)
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 10, show.seat_ids[:1])
    again = await record_checkout(sessions, checkout.booking_id, "stripe", checkout.checkout_id, "http://x")
    assert again is True
    payments = await payments_of(sessions, checkout.booking_id)
    assert [(p.checkout_id, p.status, p.amount_minor, p.currency) for p in payments] == [
        (checkout.checkout_id, "open", 1200, "EUR")
    ]


async def test_bookings_whose_hold_lapsed_expire_and_name_their_open_checkouts(
    sessions: SessionFactory, holds: HoldStore
) -> None:
    show = await make_show(sessions)
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 11, show.seat_ids[:1])
    not_yet = await expire_lapsed_bookings(sessions, utc_now())
    lapsed = await expire_lapsed_bookings(sessions, checkout.hold.expires_at + timedelta(minutes=1))
    assert not_yet == []
    assert [(c.booking_id, c.provider, c.checkout_id) for c in lapsed] == [
        (checkout.booking_id, "stripe", checkout.checkout_id)
    ]
    assert (await booking_row(sessions, checkout.booking_id)).status == BookingStatus.EXPIRED

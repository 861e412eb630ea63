"""Redis forgets or fails mid-run: holds may be lost, a seat is never sold twice (SQL decides)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from booking_core.bookings.checkout import record_checkout
from booking_core.bookings.confirmation import ConfirmationOutcome
from booking_core.bookings.errors import ConfirmationDeferred
from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.inventory import SqlInventory
from booking_core.holds.store import HoldStore
from booking_core.models import BookingStatus
from booking_core.payments.port import PaymentEvent, PaymentEventKind
from roles.redis_server import redis_client
from tests.bookings.builders import make_booking
from tests.bookings.flow import (
    booking_row,
    buy_until_checkout,
    check_out,
    confirm,
    hold_seats,
    payment,
    sold_seats,
)
from tests.factories import make_customer, make_show

Outcome = ConfirmationOutcome


async def test_a_flushed_redis_never_leads_to_a_seat_sold_twice(
    sessions: SessionFactory, holds: HoldStore, redis: aioredis.Redis, sink: CollectingSink
) -> None:
    # Given ten customers paying for ten pairs of seats, three of them confirmed already
    show = await make_show(sessions, rows=2, seats_per_row=10)
    pairs = [show.seat_ids[i : i + 2] for i in range(0, 20, 2)]
    first = [
        await buy_until_checkout(sessions, holds, show.show_id, 400 + n, pair) for n, pair in enumerate(pairs)
    ]
    for checkout in first[:3]:
        assert (await confirm(sessions, holds, sink, payment(checkout))).outcome == Outcome.CONFIRMED

    # When Redis loses everything (data and scripts) while the others are still paying
    await redis.flushdb()
    await redis.script_flush()

    # Then sold seats stay sold (Redis rebuilds them from SQL), but the lost holds' seats look free
    for pair in pairs[:3]:
        refused = await holds.hold(show.show_id, 499, pair)
        assert isinstance(refused, HoldRefused) and refused.reason == HoldRefusalReason.SEAT_SOLD
    second = [
        await check_out(sessions, holds, await hold_seats(sessions, holds, show.show_id, 450 + n, pair))
        for n, pair in enumerate(pairs[3:], start=3)
    ]
    # And when all the remaining payments arrive at once
    racing = first[3:] + second
    random.shuffle(racing)
    results = await asyncio.gather(*(confirm(sessions, holds, sink, payment(c)) for c in racing))

    # Then each pair is sold exactly once, and every other payment is flagged for refund
    sold = await sold_seats(sessions, show.show_id)
    assert sorted(sold) == sorted(show.seat_ids)
    assert all(len(bookings) == 1 for bookings in sold.values())
    outcomes = {c.booking_id: r.outcome for c, r in zip(racing, results, strict=True)}
    for a, b in zip(first[3:], second, strict=True):
        pair_outcomes = sorted([outcomes[a.booking_id], outcomes[b.booking_id]])
        assert pair_outcomes in (
            sorted([Outcome.CONFIRMED, Outcome.REFUND_PENDING]),
            sorted([Outcome.LATE_CONFIRMED, Outcome.REFUND_PENDING]),
        )
        loser = a if outcomes[a.booking_id] == Outcome.REFUND_PENDING else b
        assert (await booking_row(sessions, loser.booking_id)).status == BookingStatus.REFUND_PENDING


async def test_with_redis_down_a_payment_within_its_hold_is_still_a_sale(
    sessions: SessionFactory, sink: CollectingSink
) -> None:
    # Given Redis unreachable, a booking whose hold (per SQL) runs for minutes, and one long lapsed
    dead = HoldStore(redis_client("redis://127.0.0.1:1/0"), SqlInventory(sessions), sink)
    show = await make_show(sessions)
    customer = await make_customer(sessions, 470)
    fresh = await make_booking(sessions, show.show_id, customer, show.seat_ids[:2])
    lapsed = await make_booking(sessions, show.show_id, customer, show.seat_ids[2:3], hold_seconds=-60)
    events = {}
    for booking_id, amount in ((fresh, 2400), (lapsed, 1200)):
        await record_checkout(sessions, booking_id, "stripe", f"cs_down_{booking_id}", "http://127.0.0.1/pay")
        events[booking_id] = PaymentEvent(
            "stripe", f"evt_down_{booking_id}", PaymentEventKind.COMPLETED, f"cs_down_{booking_id}",
            booking_id, amount, "EUR", f"pi_down_{booking_id}", b"{}",
        )  # fmt: skip

    # When their payments arrive
    result = await confirm(sessions, dead, sink, events[fresh])
    with pytest.raises(ConfirmationDeferred):
        await confirm(sessions, dead, sink, events[lapsed])

    # Then the first is sold on SQL's word alone; the late one waits for Redis to say if its seat is free
    assert result.outcome == Outcome.CONFIRMED
    assert await sold_seats(sessions, show.show_id) == {seat: [fresh] for seat in show.seat_ids[:2]}
    assert (await booking_row(sessions, lapsed)).status == BookingStatus.PENDING_PAYMENT


async def test_a_booking_whose_hold_redis_forgot_cannot_buy_seats_sold_since(
    sessions: SessionFactory,
    make_holds: Callable[..., HoldStore],
    redis: aioredis.Redis,
    sink: CollectingSink,
) -> None:
    # Given a sale made through one Redis
    holds = make_holds()
    show = await make_show(sessions)
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 480, show.seat_ids[:2])
    await confirm(sessions, holds, sink, payment(checkout))
    # When Redis comes back empty (a restart without its data) and a booking whose hold it forgot is paid
    await redis.flushdb()
    customer = await make_customer(sessions, 481)
    stale = await make_booking(sessions, show.show_id, customer, show.seat_ids[1:3])
    await record_checkout(sessions, stale, "stripe", "cs_stale", "http://127.0.0.1/pay")
    event = PaymentEvent(
        "stripe", "evt_stale", PaymentEventKind.COMPLETED, "cs_stale", stale, 2400, "EUR", "pi_stale", b"{}"
    )
    result = await confirm(sessions, holds, sink, event)
    # Then the seat sold before is not sold again
    assert result.outcome == Outcome.REFUND_PENDING
    assert await sold_seats(sessions, show.show_id) == {
        seat: [checkout.booking_id] for seat in show.seat_ids[:2]
    }

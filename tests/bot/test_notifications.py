"""Every message the core's events call for reaches the right chat: a waitlist offer and its lapse, a hold
about to lapse and lapsed (the open checkout closed with it), money going back, a booking cancelled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.events import RefundStarted
from booking_core.holds.store import Hold
from booking_core.holds.waitlist import WaitlistPosition
from booking_core.models import utc_now
from bot.codec import Action, encode
from bot.context import installed_services
from roles.endpoints import resolve_endpoints
from roles.redis_server import RedisEndpoint
from roles.worker_role import open_full_worker_context
from tests.bot.harness import BotWorld, SimulatedUser, confirmed_booking, open_world, text_of
from tests.factories import make_show

ALICE, BOB = 6401, 6402


@pytest.fixture
async def world(
    engine: AsyncEngine, database_url: str, redis_endpoint: RedisEndpoint, redis: object
) -> AsyncIterator[BotWorld]:
    """The bot without a worker; holds last 62 s so the one-minute reminder falls due at once."""
    async with open_world(database_url, redis_endpoint.url, HOLD_SECONDS=62) as running:
        yield running


async def started(fan: SimulatedUser) -> None:
    """The user has talked to the bot."""
    await fan.say("/start")
    await fan.wait_for_text("Choose your city")


async def test_a_lapsed_hold_is_told_and_its_checkout_closed(world: BotWorld) -> None:
    # Given Alice at the checkout of two held seats
    show = await make_show(world.core.sessions)
    fan = world.user(ALICE)
    await started(fan)
    hold = await world.core.holds.hold(show.show_id, ALICE, show.seat_ids[:2])
    assert isinstance(hold, Hold)
    await fan.press(encode(Action.CHECKOUT, show.show_id), fan.last(), forge=True)
    checkout = await fan.wait_for_button(encode(Action.CONTACTS, show.show_id))
    # (the checkout handler remembers the message it sent only after sending it)
    await world.until_idle()
    # When the hold lapses and a sweeper frees it
    assert await world.core.holds.sweep(now=utc_now() + timedelta(minutes=10)) == 1
    # Then Alice is told which seats went, with a way to pick them again, and Pay is gone
    told = await fan.wait_for_text("were released because time ran out")
    assert "seats A1, A2" in text_of(told) and encode(Action.SHOW, show.show_id, 0) in told.callback_data()
    closed = next(m for m in fan.chat if m.message_id == checkout.message_id)
    assert "checkout has closed" in text_of(closed) and not closed.buttons()


async def test_a_hold_about_to_lapse_is_reminded_once(world: BotWorld) -> None:
    # Given Alice holding seats through the seat map (holds last 62 s here)
    show = await make_show(world.core.sessions)
    fan = world.user(ALICE)
    await started(fan)
    await fan.press(encode(Action.SHOW, show.show_id, 0), fan.last(), forge=True)
    await fan.wait_for_button(encode(Action.BEST, show.show_id, 2))
    await fan.press(encode(Action.BEST, show.show_id, 2))
    # Then a minute before the hold lapses she is reminded, with the way to pay
    reminder = await fan.wait_for_text("Pay now to keep them", timeout=10)
    assert text_of(reminder).startswith("⏳ Less than a minute left")
    assert encode(Action.CHECKOUT, show.show_id) in reminder.callback_data()
    reminders = [m for m in fan.chat if "Pay now to keep them" in text_of(m)]
    assert len(reminders) == 1


async def test_a_waitlist_offer_and_its_lapse(world: BotWorld) -> None:
    # Given a two-seat show Bob holds whole, and Alice waiting for one seat
    show = await make_show(world.core.sessions, rows=1, seats_per_row=2)
    alice = world.user(ALICE)
    await started(alice)
    bobs = await world.core.holds.hold(show.show_id, BOB, show.seat_ids)
    assert isinstance(bobs, Hold)
    waiting = await world.core.holds.waitlist.join(show.show_id, ALICE, 1)
    assert isinstance(waiting, WaitlistPosition)
    # When Bob lets his seats go
    await world.core.holds.release(show.show_id, bobs.token)
    # Then Alice is offered a seat, held in her name, with Take / No thanks
    offer = await alice.wait_for_text("Seats for you")
    assert "Seat A1 is held for you until" in text_of(offer)
    assert encode(Action.OFFER_ACCEPT, show.show_id) in offer.callback_data()
    assert encode(Action.OFFER_DECLINE, show.show_id) in offer.callback_data()
    # When she lets the offer run out
    await world.core.holds.sweep(now=utc_now() + timedelta(minutes=10))
    # Then she is told it passed on
    await alice.wait_for_text("went to the next person in line")


async def test_an_offer_a_worker_makes_is_reminded_before_it_lapses(
    engine: AsyncEngine, database_url: str, redis_endpoint: RedisEndpoint, redis: object
) -> None:
    # Given the bot (offers last 62 s here, so their reminder falls due at once), Bob holding a two-seat
    # show whole, and Alice waiting for one seat
    async with open_world(database_url, redis_endpoint.url, OFFER_SECONDS=62) as world:
        show = await make_show(world.core.sessions, rows=1, seats_per_row=2)
        alice = world.user(ALICE)
        await started(alice)
        bobs = await world.core.holds.hold(show.show_id, BOB, show.seat_ids)
        assert isinstance(bobs, Hold)
        assert isinstance(await world.core.holds.waitlist.join(show.show_id, ALICE, 1), WaitlistPosition)
        # When Bob's seats are freed in a worker (its context opened as the worker role opens it)
        endpoints = resolve_endpoints(world.settings, redis_endpoint.url, None)
        async with open_full_worker_context(world.settings, endpoints, None) as worker:
            await worker.holds.release(show.show_id, bobs.token)
            # Then the worker offers Alice the seat, and the bot reminds her before the offer lapses
            await alice.wait_for_text("Seats for you")
            reminder = await alice.wait_for_text("Less than a minute left", timeout=10)
        assert encode(Action.OFFER_ACCEPT, show.show_id) in reminder.callback_data()


async def test_money_going_back_is_explained(world: BotWorld) -> None:
    show = await make_show(world.core.sessions)
    booking = await confirmed_booking(world.core.sessions, show.show_id, ALICE, show.seat_ids[:2])
    alice = world.user(ALICE)
    await started(alice)
    notifier = installed_services(world.application).notifier
    await notifier.publish(RefundStarted(booking, ALICE, "seats sold to someone else after the hold expired"))
    told = await alice.wait_for_text("on its way back")
    assert "24.00 EUR will be refunded" in text_of(told)
    assert "seats sold to someone else after the hold expired" in text_of(told)


async def test_cancelling_a_booking_asks_first_and_says_it_once(world: BotWorld) -> None:
    # Given Alice's confirmed booking for tomorrow, opened from /mytickets
    show = await make_show(world.core.sessions)
    booking = await confirmed_booking(world.core.sessions, show.show_id, ALICE, show.seat_ids[:2])
    alice = world.user(ALICE)
    listing = await alice.say("/mytickets")
    await alice.press(encode(Action.TICKET, booking), listing)
    ticket = await alice.wait_for_button(encode(Action.CANCEL_BOOKING, booking))
    assert ticket.photo is not None
    # When she asks to cancel, is asked to confirm, and confirms
    await alice.press(encode(Action.CANCEL_BOOKING, booking), ticket)
    question = await alice.wait_for_button(encode(Action.CANCEL_CONFIRMED, booking))
    assert "24.00 EUR goes back" in text_of(question)
    answer = await alice.press(encode(Action.CANCEL_CONFIRMED, booking), question)
    # Then the booking is cancelled with its refund under way, the seats are free, and she is told once
    assert answer.text == "Cancelled"
    done = await alice.wait_for_text("is cancelled and the seats are released")
    assert "24.00 EUR is on its way back" in text_of(done)
    assert await world.booking_statuses(ALICE) == ["cancelled"]
    assert await world.sold_seats(show.show_id) == []
    bot_messages = [m for m in alice.chat if m.from_bot]
    assert not any("on its way back" in text_of(m) and m is not done for m in bot_messages)

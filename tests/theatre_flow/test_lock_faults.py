"""A connected cinema's lock under faults: slow and unreadable answers, a short lock, a changed price.

Each test injects the fault at the sandbox theatre and checks what the user and the theatre end up with.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from booking_core.bookings.checkout import CheckoutRefusal, CheckoutRefused, CheckoutStarted
from booking_core.bookings.customers import get_or_create_customer
from booking_core.events import OfferMade
from booking_core.holds.seat_map import SeatState
from booking_core.holds.store import Hold, HoldRefusalReason, HoldRefused
from booking_core.holds.waitlist import WaitlistPosition
from bot.views.hold_refusals import hold_refusal
from tests.theatre_flow.stand import Stand


async def locks_at_theatre(stand: Stand, theatre_show: str) -> dict[str, str]:
    """Seat label -> lock id of every seat the theatre holds locked for the show."""
    return {
        label: owner for label, (kind, owner) in (await stand.claims(theatre_show)).items() if kind == "lock"
    }


async def test_a_garbled_lock_answer_is_replayed_and_the_lock_given_to_the_user(stand: Stand) -> None:
    # Given a theatre that locks the seats but whose answer arrives cut short
    show_id, theatre_show = await stand.show()
    stand.sandbox.faults.garble_next = 1
    # When the user holds two seats
    hold = await stand.hold(show_id, 20, "E3", "E4")
    # Then the replayed key hands over the lock: the user holds the seats under the theatre's one lock
    assert isinstance(hold, Hold), hold
    ours = await stand.theatre.lock_of(show_id, hold.token)
    assert ours is not None
    assert await locks_at_theatre(stand, theatre_show) == {"E3": ours.lock_id, "E4": ours.lock_id}
    # and releasing the hold leaves nothing locked at the theatre
    await stand.holds.release(show_id, hold.token)
    assert await locks_at_theatre(stand, theatre_show) == {}


async def test_a_lock_answered_after_the_timeout_is_learned_by_replaying_its_key(stand: Stand) -> None:
    # Given a theatre that takes 1.5 s over a lock (the budget per call is 1 s; meanwhile a replay of
    # the key is told 409 request_in_progress)
    show_id, theatre_show = await stand.show()
    stand.sandbox.faults.slow_next, stand.sandbox.faults.slow_seconds = 1, 1.5
    # When the user holds a seat
    hold = await stand.hold(show_id, 21, "F7")
    # Then they get it, under the one lock the theatre granted
    assert isinstance(hold, Hold), hold
    ours = await stand.theatre.lock_of(show_id, hold.token)
    assert ours is not None and await locks_at_theatre(stand, theatre_show) == {"F7": ours.lock_id}


async def test_no_lock_of_ours_survives_a_hold_refused_for_a_slow_answer(stand: Stand) -> None:
    # Given a theatre slower than the hold will wait for its answer
    show_id, theatre_show = await stand.show()
    stand.theatre.lock_recovery_seconds = 0.5
    stand.sandbox.faults.slow_next, stand.sandbox.faults.slow_seconds = 1, 2.5
    # When the user holds a seat, the hold is refused: the theatre did not answer in time
    refused = await stand.hold(show_id, 22, "G2")
    assert refused == HoldRefused(HoldRefusalReason.THEATRE_UNAVAILABLE)
    # Then, once the theatre answers, the lock it granted is learned and released
    async with asyncio.timeout(10):
        await stand.theatre.settle_recoveries()
    assert await locks_at_theatre(stand, theatre_show) == {}
    # and the same user can hold the seat again (it is not "taken" by their own orphaned lock)
    again = await stand.hold(show_id, 22, "G2")
    assert isinstance(again, Hold), again


async def test_a_shorter_lock_than_asked_ends_the_hold_when_the_lock_ends(stand: Stand) -> None:
    # Given a theatre that grants locks of at most 30 s, whatever was asked
    show_id, theatre_show = await stand.show()
    stand.sandbox.store.max_lock_seconds = 30
    asked_at = datetime.now(UTC)
    # When the user holds a seat (Marquee holds for 5 minutes)
    hold = await stand.hold(show_id, 23, "H5")
    # Then the hold the user is shown ends with the theatre's lock, not 5 minutes on
    assert isinstance(hold, Hold), hold
    assert hold.expires_at <= stand.clock.now + timedelta(seconds=30)
    assert hold.expires_at - asked_at < timedelta(seconds=31)
    live = await stand.holds.current_hold(show_id, 23)
    assert live is not None and live.expires_at == hold.expires_at
    # and a checkout started now closes at that deadline too
    started = await stand.core.bookings.start_checkout(hold)
    assert isinstance(started, CheckoutStarted) and started.expires_at == hold.expires_at
    assert (await stand.claims(theatre_show))["H5"][0] == "lock"


async def test_a_price_changed_since_the_sync_stops_the_checkout_before_payment(stand: Stand) -> None:
    # Given the theatre raised the price of its standard seats after our last sync
    show_id, theatre_show = await stand.show()
    await stand.change_theatre(
        "UPDATE show_prices SET amount = amount + 250 WHERE show_id = ? AND category = 'standard'",
        theatre_show,
    )
    # When a user holds two standard seats and goes to pay
    hold = await stand.hold(show_id, 24, "E8", "E9")
    assert isinstance(hold, Hold), hold
    ours = await stand.theatre.lock_of(show_id, hold.token)
    assert ours is not None and ours.amount_minor is not None
    started = await stand.core.bookings.start_checkout(hold)
    # Then no booking awaits payment: the checkout stops naming the theatre's price
    assert started == CheckoutRefused(CheckoutRefusal.PRICE_CHANGED, ours.amount_minor, "EUR")
    # and once the sync has the new price, the same hold checks out at the theatre's price
    assert (await stand.sync()).ok
    started = await stand.core.bookings.start_checkout(hold)
    assert isinstance(started, CheckoutStarted) and started.amount_minor == ours.amount_minor


async def test_seats_sold_at_the_box_office_are_refused_as_sold_in_words_with_plurals(stand: Stand) -> None:
    # Given seats the box office sold a moment ago (our map has not shown them yet)
    show_id, theatre_show = await stand.show()
    assert await stand.box_office(theatre_show, "A5", "A6") == 201
    # When a user tries to hold them
    refused = await stand.hold(show_id, 25, "A5", "A6")
    # Then they are told the seats are sold, not taken by someone else, in plural words
    assert refused == HoldRefused(HoldRefusalReason.SEAT_SOLD, tuple(await stand.seats(show_id, "A5", "A6")))
    assert hold_refusal(refused.reason, ["A5", "A6"]).startswith("Sorry, A5, A6 are already sold.")
    # while a seat locked by another application is "taken", and the plural fits there too
    assert isinstance(await stand.hold(show_id, 26, "A7", "A8"), Hold)
    taken = await stand.hold(show_id, 27, "A7", "A8")
    assert isinstance(taken, HoldRefused) and taken.reason == HoldRefusalReason.SEAT_TAKEN
    assert hold_refusal(taken.reason, ["A7", "A8"]).startswith(
        "Sorry, A7, A8 were just taken by someone else."
    )
    assert hold_refusal(taken.reason, ["A7"]).startswith("Sorry, A7 was just taken")


async def test_a_waitlist_offer_ends_with_a_shorter_theatre_lock_and_the_waiter_is_told_so(
    stand: Stand,
) -> None:
    # Given a sold-out show but for E8, which a user holds, and someone waiting for one seat
    show_id, theatre_show = await stand.show(hall="riverside-2")
    others = [f"{row}{n}" for row in "ABCDE" for n in range(1, 9) if f"{row}{n}" != "E8"]
    assert await stand.box_office(theatre_show, *others) == 201
    (e8,) = await stand.seats(show_id, "E8")
    await stand.seat_map_once(show_id, 1, lambda seen: seen.seats_in(SeatState.FREE) == (e8,), within=5)
    holder = await stand.hold(show_id, 1, "E8")
    assert isinstance(holder, Hold), holder
    await get_or_create_customer(stand.core.sessions, 2, chat_id=2)
    assert isinstance(await stand.holds.waitlist.join(show_id, 2, 1), WaitlistPosition)
    # and a theatre that now grants locks of at most 30 s
    stand.sandbox.store.max_lock_seconds = 30
    # When the holder lets E8 go and it is offered to the waiter
    await stand.holds.release(show_id, holder.token)
    # Then the offer ends when the theatre's lock does, and that is the deadline the waiter is told
    offer = await stand.holds.current_hold(show_id, 2)
    assert offer is not None and offer.is_offer
    assert offer.expires_at <= stand.clock.now + timedelta(seconds=30)
    (told,) = [event for event in stand.sink.events if isinstance(event, OfferMade)]
    assert told.expires_at == offer.expires_at

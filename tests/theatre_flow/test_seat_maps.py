"""Seat maps and holds of a connected cinema against the sandbox theatre over real HTTP."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from booking_core.bookings.confirmation import ConfirmationOutcome
from booking_core.bookings.customers import get_or_create_customer
from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.seat_map import THEATRE_UNAVAILABLE, SeatState
from booking_core.holds.store import Hold
from booking_core.holds.waitlist import WaitlistPosition
from tests.factories import make_show
from tests.theatre_flow.stand import Stand

STATUS_SECONDS = 0.3  # THEATRE_STATUS_SECONDS of the test stand


async def test_a_box_office_sale_shows_on_the_next_map_and_refuses_a_hold_naming_that_seat(
    stand: Stand,
) -> None:
    # Given a Marquee user holding C5 and C6, and a map drawn for another user
    show_id, theatre_show = await stand.show()
    assert isinstance(await stand.hold(show_id, 1, "C5", "C6"), Hold)
    c5, c6, c7, c8 = await stand.seats(show_id, "C5", "C6", "C7", "C8")
    assert (await stand.holds.seat_map(show_id, 2)).states[c7] == SeatState.FREE

    # When the box office sells C7 at the theatre's own till
    assert await stand.box_office(theatre_show, "C7") == 201

    # Then a hold that includes C7 is refused as a whole, naming C7 as sold, even before any map shows it
    assert await stand.hold(show_id, 2, "C7", "C8") == HoldRefused(HoldRefusalReason.SEAT_SOLD, (c7,))
    assert await stand.holds.current_hold(show_id, 2) is None
    assert "C8" not in await stand.claims(theatre_show)
    # and the next map refresh shows C7 taken, the Marquee holds as they were
    await asyncio.sleep(STATUS_SECONDS + 0.05)
    seen = await stand.holds.seat_map(show_id, 2)
    assert (seen.states[c7], seen.states[c5], seen.states[c6], seen.states[c8]) == (
        SeatState.SOLD,
        SeatState.HELD,
        SeatState.HELD,
        SeatState.FREE,
    )
    assert (await stand.holds.seat_map(show_id, 1)).states[c5] == SeatState.YOURS
    # From then on adding C7 to a selection is refused at once, and the selection stays as it was
    assert isinstance(await stand.hold(show_id, 2, "C8"), Hold)
    assert await stand.hold(show_id, 2, "C7", "C8") == HoldRefused(HoldRefusalReason.SEAT_SOLD, (c7,))
    kept = await stand.holds.current_hold(show_id, 2)
    assert kept is not None and kept.seat_ids == (c8,)
    claims = await stand.claims(theatre_show)
    assert claims["C7"][0] == "sale" and claims["C8"][0] == claims["C5"][0] == "lock"


async def test_a_waitlist_offer_is_locked_at_the_theatre_and_can_be_bought(stand: Stand) -> None:
    # Given a show the box office has sold out but for E8, which a Marquee user holds
    show_id, theatre_show = await stand.show(hall="riverside-2")
    others = [f"{row}{n}" for row in "ABCDE" for n in range(1, 9) if f"{row}{n}" != "E8"]
    assert await stand.box_office(theatre_show, *others) == 201
    await asyncio.sleep(STATUS_SECONDS + 0.05)
    (e8,) = await stand.seats(show_id, "E8")
    assert (await stand.holds.seat_map(show_id, 1)).seats_in(SeatState.FREE) == (e8,)
    holder = await stand.hold(show_id, 1, "E8")
    assert isinstance(holder, Hold)
    # and someone waiting for one seat (nothing to offer yet: the box office's seats are not offered)
    await get_or_create_customer(stand.core.sessions, 2, chat_id=2)
    assert isinstance(await stand.holds.waitlist.join(show_id, 2, 1), WaitlistPosition)

    # When the holder lets E8 go
    await stand.holds.release(show_id, holder.token)

    # Then it is offered to the waiter, locked at the theatre in their name, and they can buy it
    offer = await stand.holds.current_hold(show_id, 2)
    assert offer is not None and offer.is_offer and offer.seat_ids == (e8,)
    assert (await stand.claims(theatre_show))["E8"][0] == "lock"
    result = await stand.pay(await stand.check_out(offer))
    assert result.outcome == ConfirmationOutcome.CONFIRMED
    assert list((await stand.marquee_tickets_at_theatre(theatre_show)).values()) == [("E8",)]


async def test_a_lock_whose_release_was_lost_is_released_for_the_next_hold_that_needs_its_seat(
    stand: Stand,
) -> None:
    # Given a hold released while the theatre briefly failed every request: its lock stayed there
    show_id, theatre_show = await stand.show()
    hold = await stand.hold(show_id, 1, "F1")
    assert isinstance(hold, Hold)
    stand.sandbox.faults.fail_next = 3  # the release and both of the adapter's retries
    await stand.holds.release(show_id, hold.token)
    assert (await stand.claims(theatre_show))["F1"][0] == "lock"
    # (the theatre counts as down for a moment after that failure)
    await stand.seat_map_once(show_id, 2, lambda seen: seen.unavailable_reason is None, within=5.0)
    # When another user wants the seat, the stale lock of ours is released first, and they get it
    second = await stand.hold(show_id, 2, "F1")
    assert isinstance(second, Hold)
    (f1,) = await stand.seats(show_id, "F1")
    assert (await stand.holds.seat_map(show_id, 2)).states[f1] == SeatState.YOURS
    claims = await stand.claims(theatre_show)
    assert claims["F1"][0] == "lock" and len(set(claims.values())) == 1


async def test_the_theatre_lock_follows_the_hold_through_changes_release_and_expiry(stand: Stand) -> None:
    show_id, theatre_show = await stand.show()
    # A hold locks its seats at the theatre
    first = await stand.hold(show_id, 1, "D1", "D2")
    assert isinstance(first, Hold)
    claims = await stand.claims(theatre_show)
    assert claims["D1"][0] == claims["D2"][0] == "lock"
    # Changing the selection moves the lock with it
    second = await stand.hold(show_id, 1, "D2", "D3")
    assert isinstance(second, Hold)
    claims = await stand.claims(theatre_show)
    assert "D1" not in claims and claims["D2"] == claims["D3"] and claims["D2"] != ("lock", "")
    # Releasing the hold releases the lock
    await stand.holds.release(show_id, second.token)
    assert await stand.claims(theatre_show) == {}
    # And a hold that expires releases it when the sweeper retires the hold
    third = await stand.hold(show_id, 1, "E1")
    assert isinstance(third, Hold) and "E1" in await stand.claims(theatre_show)
    assert await stand.holds.sweep(third.expires_at + timedelta(seconds=1)) == 1
    assert await stand.claims(theatre_show) == {}


async def test_a_theatre_that_is_down_makes_only_its_own_shows_unavailable(stand: Stand) -> None:
    # Given a connected show and a local cinema's show
    show_id, _ = await stand.show()
    local = await make_show(stand.core.sessions)
    assert (await stand.holds.seat_map(show_id, 1)).unavailable_reason is None

    # When the theatre goes down
    await stand.sandbox.stop()
    down_at = time.monotonic()

    # Then within a second the maps of its show say so (a status cached before is used only briefly),
    await stand.seat_map_once(show_id, 1, lambda seen: seen.unavailable_reason is not None, within=1.0)
    assert time.monotonic() - down_at < 1.0
    # and every map after that answers at once, as do its holds (refused)
    for _ in range(3):
        started = time.monotonic()
        seat_map = await stand.holds.seat_map(show_id, 1)
        assert time.monotonic() - started < 0.5
        assert seat_map.unavailable_reason == THEATRE_UNAVAILABLE
    started = time.monotonic()
    assert await stand.hold(show_id, 1, "A5") == HoldRefused(HoldRefusalReason.THEATRE_UNAVAILABLE)
    assert time.monotonic() - started < 0.5
    assert await stand.holds.current_hold(show_id, 1) is None
    # while the local cinema goes on as before, at its own speed
    started = time.monotonic()
    local_map = await stand.holds.seat_map(local.show_id, 1)
    held = await stand.holds.hold(local.show_id, 1, local.seat_ids[:2])
    assert time.monotonic() - started < 0.5
    assert local_map.unavailable_reason is None and isinstance(held, Hold)


async def test_a_hanging_theatre_is_given_up_on_within_about_a_second_and_holds_up_nothing_else(
    stand: Stand,
) -> None:
    # Given holds at a connected show (two users) and at a local cinema's show
    show_id, _ = await stand.show()
    local = await make_show(stand.core.sessions)
    connected_holds = [await stand.hold(show_id, user, f"G{user}") for user in (1, 2)]
    local_hold = await stand.holds.hold(local.show_id, 3, local.seat_ids[:1])
    assert all(isinstance(hold, Hold) for hold in [*connected_holds, local_hold])
    stand.sandbox.faults.hang()
    try:
        # When the theatre stops answering, a map of its show gives up on it within about a second
        started = time.monotonic()
        seat_map = await stand.holds.seat_map(show_id, 1)
        assert time.monotonic() - started < 1.3
        assert seat_map.unavailable_reason == THEATRE_UNAVAILABLE
        # and the sweeper frees every expired hold, the local one too, without waiting on it
        assert isinstance(local_hold, Hold)
        started = time.monotonic()
        assert await stand.holds.sweep(local_hold.expires_at + timedelta(seconds=1)) == 3
        assert time.monotonic() - started < 0.5
        assert await stand.holds.current_hold(local.show_id, 3) is None
    finally:
        stand.sandbox.faults.unhang()


async def test_letting_go_at_a_connected_cinema_releases_the_theatres_lock_too(stand: Stand) -> None:
    # Given a user holding E3 and E4 at a connected cinema, locked there in their name
    show_id, theatre_show = await stand.show()
    hold = await stand.hold(show_id, 21, "E3", "E4")
    assert isinstance(hold, Hold), hold
    assert {
        label for label, (kind, _owner) in (await stand.claims(theatre_show)).items() if kind == "lock"
    } == {
        "E3",
        "E4",
    }
    # When they let their seats go ("let my seats go" in the bot)
    let_go, after = await stand.holds.let_go(show_id, 21)
    # Then both are free here and nothing is locked at the theatre any more
    e3_e4 = await stand.seats(show_id, "E3", "E4")
    assert sorted(let_go) == sorted(e3_e4)
    assert all(after.states[seat] == SeatState.FREE for seat in e3_e4)
    assert not [kind for kind, _owner in (await stand.claims(theatre_show)).values() if kind == "lock"]

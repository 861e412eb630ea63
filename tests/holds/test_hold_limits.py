"""Holds without end are gone: a user's holds of a show have a lifetime from their first seat, a user
holds seats in a bounded number of shows at once, and a paid booking taking its seats back is exempt."""

from __future__ import annotations

from datetime import timedelta

from booking_core.database import SessionFactory
from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.store import Hold, HoldStore
from tests.factories import make_show
from tests.support.clocks import HandClock

ALICE, BOB = 101, 102
HOLD, LIFE = 300, 900  # HOLD_SECONDS and HOLD_MAX_SECONDS by default


async def test_re_holding_never_stretches_a_hold_past_its_lifetime(
    store: HoldStore, sessions: SessionFactory, clock: HandClock
) -> None:
    # Given Alice holding a seat, re-holding (a script toggling it) every four minutes
    show = await make_show(sessions)
    s = show.seat_ids
    first = await store.hold(show.show_id, ALICE, [s[0]])
    assert isinstance(first, Hold)
    started = first.expires_at - timedelta(seconds=HOLD)
    for minutes, seat in ((4, s[1]), (8, s[0]), (12, s[1])):
        clock.advance(240)
        again = await store.hold(show.show_id, ALICE, [seat])
        assert isinstance(again, Hold), (minutes, again)
    # Then the last re-hold ends when her lifetime does, not five minutes later
    assert again.expires_at == started + timedelta(seconds=LIFE)
    # And once it is over she is refused, and her seat is anyone's
    clock.advance(LIFE - 12 * 60)
    assert await store.hold(show.show_id, ALICE, [s[1]]) == HoldRefused(HoldRefusalReason.HOLD_LIMIT)
    assert isinstance(await store.hold(show.show_id, BOB, [s[1]]), Hold)
    # Until a pause as long as a hold has passed: then she may start again, for a fresh five minutes
    clock.advance(HOLD - 1)
    assert await store.hold(show.show_id, ALICE, [s[2]]) == HoldRefused(HoldRefusalReason.HOLD_LIMIT)
    clock.advance(1)
    fresh = await store.hold(show.show_id, ALICE, [s[2]])
    assert isinstance(fresh, Hold)
    assert fresh.expires_at == started + timedelta(seconds=LIFE + HOLD + HOLD)


async def test_a_user_holds_seats_in_at_most_three_shows_at_once(
    store: HoldStore, sessions: SessionFactory
) -> None:
    # Given Alice holding seats in three shows
    shows = [await make_show(sessions, rows=1, seats_per_row=4) for _ in range(4)]
    for show in shows[:3]:
        assert isinstance(await store.hold(show.show_id, ALICE, show.seat_ids[:2]), Hold)
    # When she tries a fourth, she is refused and its seats stay anyone's
    fourth = shows[3]
    refusal = await store.hold(fourth.show_id, ALICE, fourth.seat_ids[:2])
    assert refusal == HoldRefused(HoldRefusalReason.TOO_MANY_SHOWS)
    assert await store.current_hold(fourth.show_id, ALICE) is None
    assert isinstance(await store.hold(fourth.show_id, BOB, fourth.seat_ids[:2]), Hold)
    # And changing her seats in a show she holds is not a new show
    assert isinstance(await store.hold(shows[0].show_id, ALICE, shows[0].seat_ids[2:]), Hold)
    # When she lets one of her shows go, she may hold seats in the fourth
    held = await store.current_hold(shows[1].show_id, ALICE)
    assert held is not None
    await store.release(shows[1].show_id, held.token)
    assert isinstance(await store.hold(fourth.show_id, ALICE, fourth.seat_ids[2:]), Hold)


async def test_a_paid_booking_takes_its_seats_back_whatever_the_limits(
    store: HoldStore, sessions: SessionFactory, clock: HandClock
) -> None:
    # Given Alice past her hold lifetime in one show and holding seats in three others
    show = await make_show(sessions, rows=1, seats_per_row=4)
    assert isinstance(await store.hold(show.show_id, ALICE, [show.seat_ids[0]]), Hold)
    clock.advance(LIFE)
    for other in [await make_show(sessions, rows=1, seats_per_row=4) for _ in range(3)]:
        assert isinstance(await store.hold(other.show_id, ALICE, other.seat_ids[:1]), Hold)
    # When her late payment for the first show takes its seats back
    again = await store.hold(show.show_id, ALICE, [show.seat_ids[0]], paid=True)
    # Then it gets them
    assert isinstance(again, Hold) and again.seat_ids == (show.seat_ids[0],)


async def test_a_show_whose_seats_were_bought_no_longer_counts_against_the_user(
    store: HoldStore, sessions: SessionFactory
) -> None:
    # Given Alice holding seats in three shows, and buying those of the first (the sale marks them sold)
    shows = [await make_show(sessions, rows=1, seats_per_row=4) for _ in range(4)]
    holds = [await store.hold(show.show_id, ALICE, show.seat_ids[:1]) for show in shows[:3]]
    bought = holds[0]
    assert isinstance(bought, Hold)
    await store.mark_sold(shows[0].show_id, bought.seat_ids, bought.token)
    # When she picks seats of a fourth show, she gets them
    assert isinstance(await store.hold(shows[3].show_id, ALICE, shows[3].seat_ids[:1]), Hold)

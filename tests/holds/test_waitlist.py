"""The waitlist against real Redis and SQL: offers, declines, expiries, head of line, honest reasons."""

from __future__ import annotations

from datetime import timedelta

import pytest

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink, OfferExpired, OfferMade
from booking_core.holds.seat_map import SeatState
from booking_core.holds.store import Hold, HoldRefusalReason, HoldRefused, HoldStore
from booking_core.holds.waitlist import JoinRefusal, JoinRefused, WaitlistPosition
from booking_core.holds.waitlist_policy import WaitReason
from booking_core.models import utc_now
from tests.factories import ShowFixture, make_show
from tests.holds.sales import sell_in_sql, unsell_in_sql
from tests.support.clocks import HandClock

pytestmark = pytest.mark.on_a_redis_cluster_too

ANN, BEN, CAT, DAN = 201, 202, 203, 204


async def full_show(
    store: HoldStore, sessions: SessionFactory, seats: int = 6
) -> tuple[ShowFixture, list[Hold]]:
    """A one-row show whose every seat is held by its own filler user (users 900, 901, ...)."""
    show = await make_show(sessions, rows=1, seats_per_row=seats)
    holds = []
    for i, seat in enumerate(show.seat_ids):
        hold = await store.hold(show.show_id, 900 + i, [seat])
        assert isinstance(hold, Hold)
        holds.append(hold)
    return show, holds


def offers(sink: CollectingSink) -> list[tuple[int, tuple[int, ...]]]:
    return [(e.user_id, e.seat_ids) for e in sink.events if isinstance(e, OfferMade)]


async def test_joining_when_seats_are_free_gets_an_offer_at_once(
    store: HoldStore, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    show = await make_show(sessions, rows=3, seats_per_row=6)
    offer = await store.waitlist.join(show.show_id, ANN, 2, together=True)
    assert isinstance(offer, Hold) and offer.is_offer and len(offer.seat_ids) == 2
    assert abs(offer.expires_at.timestamp() - (clock.now + 120)) < 0.01
    assert offers(sink) == [(ANN, offer.seat_ids)]
    # The best pair: middle row, centre of it.
    middle = show.seat_ids[6:12]
    assert offer.seat_ids == (middle[2], middle[3])


async def test_freed_seats_go_to_the_first_waiter_they_fit(
    store: HoldStore, sessions: SessionFactory, sink: CollectingSink
) -> None:
    # Given a full show, Ann waiting for 2 seats and Ben, later, for 1
    show, holds = await full_show(store, sessions)
    ann = await store.waitlist.join(show.show_id, ANN, 2)
    assert isinstance(ann, WaitlistPosition)
    assert (ann.position, ann.ahead, ann.reason) == (1, 0, WaitReason.NOT_ENOUGH_SEATS)
    ben = await store.waitlist.join(show.show_id, BEN, 1)
    assert isinstance(ben, WaitlistPosition) and (ben.position, ben.ahead) == (2, 1)
    # When one seat is released
    await store.release(show.show_id, holds[0].token)
    # Then Ann (needing 2) is passed over for Ben, and told why
    assert offers(sink) == [(BEN, (show.seat_ids[0],))]
    ann = await store.waitlist.position(show.show_id, ANN)
    assert ann is not None and ann.passed_over == 1 and ann.reason == WaitReason.NOT_ENOUGH_SEATS
    assert await store.waitlist.position(show.show_id, BEN) is None
    # When two more seats are released, Ann gets both
    await store.release(show.show_id, holds[3].token)
    assert offers(sink)[1:] == []
    assert (await store.seat_map(show.show_id, CAT)).states[show.seat_ids[3]] == SeatState.OFFERED
    await store.release(show.show_id, holds[5].token)
    assert offers(sink)[1:] == [(ANN, (show.seat_ids[3], show.seat_ids[5]))]


async def test_while_anyone_waits_freed_seats_are_not_public(
    store: HoldStore, sessions: SessionFactory
) -> None:
    show, holds = await full_show(store, sessions)
    await store.waitlist.join(show.show_id, ANN, 2)
    await store.release(show.show_id, holds[2].token)
    # The freed seat is kept for Ann, who needs one more
    refused = await store.hold(show.show_id, CAT, [show.seat_ids[2]])
    assert refused == HoldRefused(HoldRefusalReason.WAITLIST_FIRST, (show.seat_ids[2],))
    # Once she leaves, nobody waits and the seat is public again
    assert await store.waitlist.leave(show.show_id, ANN)
    assert not await store.waitlist.leave(show.show_id, ANN)
    assert isinstance(await store.hold(show.show_id, CAT, [show.seat_ids[2]]), Hold)


async def test_a_freed_seat_no_waiter_could_ever_use_goes_public(
    store: HoldStore, sessions: SessionFactory
) -> None:
    # Given a row of 6 with seat 3 sold: no 4 adjacent seats can include seat 1 or 2 ... but 4-6 can't
    # make 4 either; only a block of 4 would serve Ann, and none exists without the sold seat
    show = await make_show(sessions, rows=1, seats_per_row=6)
    s = show.seat_ids
    await sell_in_sql(sessions, show.show_id, [s[2]])
    holds = [await store.hold(show.show_id, 900 + i, [s[i]]) for i in (0, 1, 3, 4, 5)]
    await store.waitlist.join(show.show_id, ANN, 4, together=True)
    # When seat 1 is released, it is of no use to Ann and goes straight back to the public
    first = holds[0]
    assert isinstance(first, Hold)
    await store.release(show.show_id, first.token)
    assert isinstance(await store.hold(show.show_id, CAT, [s[0]]), Hold)
    position = await store.waitlist.position(show.show_id, ANN)
    assert position is not None and position.reason == WaitReason.NOT_ENOUGH_SEATS


async def test_head_of_line_does_not_block_smaller_requests(
    store: HoldStore, sessions: SessionFactory, sink: CollectingSink
) -> None:
    # Given Ann waiting for 4 together and Ben for 2 together, in a full row of 6
    show, holds = await full_show(store, sessions)
    await store.waitlist.join(show.show_id, ANN, 4, together=True)
    await store.waitlist.join(show.show_id, BEN, 2, together=True)
    # When seats 2, 3 and 5 are freed (3 seats, at most 2 side by side)
    for i in (1, 2, 4):
        await store.release(show.show_id, holds[i].token)
    # Then Ben gets the adjacent pair and Ann, first in line, hears why not her
    assert offers(sink) == [(BEN, (show.seat_ids[1], show.seat_ids[2]))]
    ann = await store.waitlist.position(show.show_id, ANN)
    assert ann is not None
    assert (ann.position, ann.passed_over, ann.reason) == (1, 1, WaitReason.NOT_ENOUGH_SEATS)
    assert ann.available_seats == 1
    # And the remaining freed seat stays reserved: it could be part of Ann's block later
    seat_map = await store.seat_map(show.show_id, CAT)
    assert seat_map.states[show.seat_ids[4]] == SeatState.OFFERED


async def test_decline_passes_the_seats_to_the_next_waiter(
    store: HoldStore, sessions: SessionFactory, sink: CollectingSink
) -> None:
    show, holds = await full_show(store, sessions)
    await store.waitlist.join(show.show_id, ANN, 1)
    await store.waitlist.join(show.show_id, BEN, 1)
    await store.release(show.show_id, holds[4].token)
    assert offers(sink) == [(ANN, (show.seat_ids[4],))]
    assert await store.waitlist.decline(show.show_id, BEN) == ()  # Ben has no offer to decline
    assert await store.waitlist.decline(show.show_id, ANN) == (show.seat_ids[4],)
    assert offers(sink) == [(ANN, (show.seat_ids[4],)), (BEN, (show.seat_ids[4],))]
    assert await store.waitlist.position(show.show_id, ANN) is None  # declining does not requeue


async def test_an_unanswered_offer_expires_and_passes_on(
    store: HoldStore, sessions: SessionFactory, sink: CollectingSink, clock: HandClock
) -> None:
    show, holds = await full_show(store, sessions)
    await store.waitlist.join(show.show_id, ANN, 1)
    await store.waitlist.join(show.show_id, BEN, 1)
    clock.advance(100)  # the fillers' holds have 200 s left
    await store.release(show.show_id, holds[0].token)
    clock.advance(121)
    sink.events.clear()
    assert await store.sweep() == 1
    assert sink.events[0] == OfferExpired(show.show_id, ANN, (show.seat_ids[0],))
    assert offers(sink) == [(BEN, (show.seat_ids[0],))]


async def test_offer_holder_may_repick_among_freed_seats(
    store: HoldStore, sessions: SessionFactory, sink: CollectingSink
) -> None:
    # Given Ann offered one of two reserved seats
    show, holds = await full_show(store, sessions)
    await store.waitlist.join(show.show_id, BEN, 2, together=True)
    await store.waitlist.join(show.show_id, ANN, 1)
    await store.release(show.show_id, holds[0].token)
    await store.release(show.show_id, holds[5].token)
    ((user, (seat,)),) = offers(sink)
    assert user == ANN
    other = show.seat_ids[5] if seat == show.seat_ids[0] else show.seat_ids[0]
    offer = await store.current_hold(show.show_id, ANN)
    assert offer is not None and offer.is_offer
    # When she picks the other freed seat instead: allowed, still an offer, same deadline
    repicked = await store.hold(show.show_id, ANN, [other])
    assert isinstance(repicked, Hold) and repicked.is_offer and repicked.expires_at == offer.expires_at
    seat_map = await store.seat_map(show.show_id, ANN)
    assert (seat_map.states[other], seat_map.states[seat]) == (SeatState.YOURS, SeatState.OFFERED)
    # But not more seats than she was offered, and the public still may not take reserved seats
    assert await store.hold(show.show_id, ANN, [seat, other]) == HoldRefused(HoldRefusalReason.TOO_MANY_SEATS)
    assert await store.hold(show.show_id, CAT, [seat]) == HoldRefused(
        HoldRefusalReason.WAITLIST_FIRST, (seat,)
    )


async def test_join_refusals_and_requeueing(store: HoldStore, sessions: SessionFactory) -> None:
    show, _holds = await full_show(store, sessions)
    assert await store.waitlist.join(show.show_id, 900, 2) == JoinRefused(JoinRefusal.HOLDING)
    assert await store.waitlist.join(show.show_id, ANN, 11) == JoinRefused(JoinRefusal.TOO_MANY_SEATS)
    await store.waitlist.join(show.show_id, ANN, 2)
    await store.waitlist.join(show.show_id, BEN, 2)
    again = await store.waitlist.join(show.show_id, ANN, 2)
    assert isinstance(again, WaitlistPosition) and again.position == 1
    moved = await store.waitlist.join(show.show_id, ANN, 3)
    assert isinstance(moved, WaitlistPosition) and (moved.position, moved.seats) == (2, 3)
    started = await make_show(sessions, starts_at=utc_now() - timedelta(seconds=1))
    assert await store.waitlist.join(started.show_id, ANN, 1) == JoinRefused(JoinRefusal.SHOW_STARTED)


async def test_a_waiter_who_holds_seats_leaves_the_queue(store: HoldStore, sessions: SessionFactory) -> None:
    show = await make_show(sessions, rows=1, seats_per_row=4)
    await store.waitlist.join(show.show_id, ANN, 5)  # more than the hall has: she waits
    assert await store.waitlist.position(show.show_id, ANN) is not None
    assert isinstance(await store.hold(show.show_id, ANN, [show.seat_ids[0]]), Hold)
    assert await store.waitlist.position(show.show_id, ANN) is None


async def test_cancelled_seats_go_to_the_waitlist_never_beyond_the_hall(
    store: HoldStore, sessions: SessionFactory, sink: CollectingSink
) -> None:
    # Given a show sold out in SQL and a waiter (pretix #1238: a waitlist must not oversell)
    show = await make_show(sessions, rows=1, seats_per_row=4)
    await sell_in_sql(sessions, show.show_id, show.seat_ids)
    result = await store.waitlist.join(show.show_id, ANN, 2)
    assert isinstance(result, WaitlistPosition) and result.available_seats == 0
    assert offers(sink) == []
    # When one sale is cancelled, then another
    await unsell_in_sql(sessions, show.show_id, show.seat_ids[:1])
    await store.mark_unsold(show.show_id, show.seat_ids[:1])
    assert offers(sink) == []
    await unsell_in_sql(sessions, show.show_id, show.seat_ids[3:])
    await store.mark_unsold(show.show_id, show.seat_ids[3:])
    # Then Ann is offered exactly the two cancelled seats
    assert offers(sink) == [(ANN, (show.seat_ids[0], show.seat_ids[3]))]

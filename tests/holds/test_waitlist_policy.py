"""The waitlist's rules as pure functions (README.md ("Waitlist policy")), on a hand-drawn hall."""

from __future__ import annotations

from booking_core.holds.waitlist_policy import (
    OfferPlan,
    PlannedOffer,
    WaitReason,
    WaitRequest,
    diagnose,
    plan_offers,
)
from tests.holds.drawn_halls import hall


def test_first_come_first_served_among_requests_that_fit() -> None:
    # Given a row with seats 1, 2 and 5 available, and three waiters in this order
    rows, taken = hall("..xx.x")
    queue = [WaitRequest(1, 3, together=True), WaitRequest(2, 2), WaitRequest(3, 1)]
    plan = plan_offers(rows, queue, reserved={1, 2, 5}, unavailable=taken, sold=set())
    # Then the first cannot be met (3 together), the second gets the pair, the third the last seat
    assert plan.offers == (PlannedOffer(2, (1, 2)), PlannedOffer(3, (5,)))
    assert plan.to_public == frozenset()


def test_a_later_waiter_is_not_served_with_seats_an_earlier_one_fits() -> None:
    rows, taken = hall("..xxxx")
    queue = [WaitRequest(1, 2), WaitRequest(2, 1)]
    plan = plan_offers(rows, queue, reserved={1, 2}, unavailable=taken, sold=set())
    assert plan.offers == (PlannedOffer(1, (1, 2)),)


def test_reserved_seats_stay_only_while_a_waiter_could_use_them() -> None:
    # Seat 3 is sold, seats 1 and 2 are reserved; the only waiter needs 3 together.
    rows, taken = hall("..x...")
    queue = [WaitRequest(1, 3, together=True)]
    taken |= {4, 5, 6}  # held by others, may come back
    plan = plan_offers(rows, queue, reserved={1, 2}, unavailable=taken, sold={3})
    # No block of 3 around seats 1-2 avoids the sold seat: they go back to the public
    assert plan == OfferPlan((), frozenset({1, 2}))
    # A waiter happy with any seats keeps them reserved
    plan = plan_offers(rows, [*queue, WaitRequest(2, 3)], reserved={1, 2}, unavailable=taken, sold={3})
    assert plan.empty


def test_closed_show_offers_nothing_and_frees_the_pool() -> None:
    rows, taken = hall("....")
    plan = plan_offers(rows, [WaitRequest(1, 1)], reserved={1}, unavailable=taken, sold=set(), closed=True)
    assert plan == OfferPlan((), frozenset({1}))


def test_wheelchair_seats_are_never_offered_from_the_waitlist() -> None:
    rows, taken = hall("ww")
    plan = plan_offers(rows, [WaitRequest(1, 1)], reserved={1}, unavailable=taken, sold=set())
    assert plan == OfferPlan((), frozenset({1}))


def test_reasons() -> None:
    rows, taken = hall(".x.x.")
    assert diagnose(rows, WaitRequest(1, 4), unavailable=taken).reason == WaitReason.NOT_ENOUGH_SEATS
    why = diagnose(rows, WaitRequest(1, 2, together=True), unavailable=taken)
    assert (why.reason, why.available_seats, why.largest_block) == (WaitReason.NOT_TOGETHER, 3, 1)
    assert diagnose(rows, WaitRequest(1, 3), unavailable=taken).reason == WaitReason.OFFER_COMING

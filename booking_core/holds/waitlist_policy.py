"""The waitlist's rules as pure functions: who gets which seats, which freed seats stay reserved, and why
a waiter is still waiting. README.md ("Waitlist policy") states the same policy in words.

"Available" seats are the hall's seats that are neither sold nor held (by a hold or an offer): the
seats reserved for the waitlist plus those still free to the public. Waitlist offers never include
wheelchair seats.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from booking_core.hall_layout import HallLayout
from booking_core.holds.best_seats import (
    WHEELCHAIR,
    best_seats,
    free_count,
    largest_block,
    within_free_window,
)


@dataclass(frozen=True)
class WaitRequest:
    """One waiter's request: how many seats, and whether they must be side by side."""

    user_id: int
    seats: int
    together: bool = False


@dataclass(frozen=True)
class PlannedOffer:
    """Seats to offer to one waiter."""

    user_id: int
    seat_ids: tuple[int, ...]


@dataclass(frozen=True)
class OfferPlan:
    """One run of the offer step: offers in queue order, and reserved seats going back to the public."""

    offers: tuple[PlannedOffer, ...] = ()
    to_public: frozenset[int] = frozenset()

    @property
    def empty(self) -> bool:
        """True when the run changes nothing."""
        return not self.offers and not self.to_public


def plan_offers(
    layout: HallLayout,
    queue: Sequence[WaitRequest],
    *,
    reserved: Collection[int],
    unavailable: Collection[int],
    sold: Collection[int],
    closed: bool = False,
) -> OfferPlan:
    """Serve waiters first come first served among those the available seats can serve; free the rest.

    `unavailable` is every sold or held seat; `reserved` the seats kept for the waitlist.
    """
    if closed:
        return OfferPlan(to_public=frozenset(reserved))
    taken = set(unavailable)
    offers: list[PlannedOffer] = []
    still_waiting: list[WaitRequest] = []
    for request in queue:
        seats = best_seats(layout, taken, request.seats, together=request.together)
        if seats is None:
            still_waiting.append(request)
            continue
        offers.append(PlannedOffer(request.user_id, seats))
        taken.update(seats)
    offered = {seat for offer in offers for seat in offer.seat_ids}
    to_public = frozenset(
        seat
        for seat in reserved
        if seat not in offered and not any(usable_later(layout, seat, w, sold) for w in still_waiting)
    )
    return OfferPlan(tuple(offers), to_public)


def usable_later(layout: HallLayout, seat_id: int, request: WaitRequest, sold: Collection[int]) -> bool:
    """True if `seat_id` could be part of an offer to `request` once enough other seats are freed."""
    if _category(layout, seat_id) == WHEELCHAIR:
        return False
    if not request.together:
        return True
    return within_free_window(layout, seat_id, request.seats, sold)


def _category(layout: HallLayout, seat_id: int) -> str | None:
    for row in layout.rows:
        for seat in row.seats:
            if seat.id == seat_id:
                return seat.category
    return None


class WaitReason(enum.StrEnum):
    """Why a waiter has no offer yet, judged against the seats available now."""

    NOT_ENOUGH_SEATS = "not_enough_seats"  # fewer seats are available than you asked for
    NOT_TOGETHER = "not_together"  # enough seats, but not that many side by side
    OFFER_COMING = "offer_coming"  # your request fits: an offer is being made
    SHOW_CLOSED = "show_closed"  # the show has started or is no longer on sale


@dataclass(frozen=True)
class WaitDiagnosis:
    """A waiter's honest reason, with the figures behind it."""

    reason: WaitReason
    available_seats: int
    largest_block: int


def diagnose(
    layout: HallLayout, request: WaitRequest, *, unavailable: Collection[int], closed: bool = False
) -> WaitDiagnosis:
    """Why `request` cannot be met from the seats available now."""
    available = free_count(layout, unavailable)
    block = largest_block(layout, unavailable)
    if closed:
        reason = WaitReason.SHOW_CLOSED
    elif available < request.seats:
        reason = WaitReason.NOT_ENOUGH_SEATS
    elif request.together and block < request.seats:
        reason = WaitReason.NOT_TOGETHER
    else:
        reason = WaitReason.OFFER_COMING
    return WaitDiagnosis(reason, available, block)

"""What a tap on the seat map does to the user's hold, and what to tell them about it.

Each function makes one call to the core, which decides on the seats as they are now (a seat taken
since the map was drawn is refused) and answers with the fresh seat map, and returns an `Outcome`: the
callback answer (an alert for a refusal), where the redrawn map opens and the map to draw.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from booking_core.holds.best_hold import NoBlockFree, no_block_free
from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.seat_map import SeatMap
from booking_core.holds.store import HoldStore
from booking_core.holds.types import Hold
from bot.seat_map.choice import seat_labels, stranded_by
from bot.seat_map.screen import ShowHall
from bot.views.hold_refusals import hold_refusal
from bot.views.seat_keyboard import HOME_BLOCK


@dataclass(frozen=True)
class Outcome:
    """What a tap did: the answer to the press and the block the redrawn map shows."""

    text: str | None = None
    alert: bool = False
    block: int = HOME_BLOCK
    note: str | None = None  # a line for the caption too (the stranded-seat warning)
    join_waitlist_for: int = 0  # offer a one-tap join of the waitlist for this many seats side by side
    seat_map: SeatMap | None = None  # the map as the core saw it right after, when it said so


def refused(hall: ShowHall, refusal: HoldRefused, max_seats: int, block: int = HOME_BLOCK) -> Outcome:
    """A refusal in words, as an alert."""
    text = hold_refusal(refusal.reason, seat_labels(hall.layout, refusal.seat_ids), max_seats=max_seats)
    return Outcome(text, alert=True, block=block)


def stranding_note(hall: ShowHall, stranded: tuple[int, ...]) -> str | None:
    """The warning for a pick that leaves single seats between taken ones (allowed, but said)."""
    if not stranded:
        return None
    labels = ", ".join(seat_labels(hall.layout, stranded))
    return (
        f"⚠️ Your choice leaves {labels} as a lone seat between taken ones. "
        "That's allowed; seats without gaps help others."
    )


async def toggle(
    holds: HoldStore, hall: ShowHall, user: int, seat_id: int, block: int, max_seats: int
) -> Outcome:
    """Add the seat to the user's hold, or take it out if it is theirs (one core call)."""
    outcome = await holds.toggle_seat(hall.details.show_id, user, seat_id)
    result, after = outcome.result, outcome.seat_map
    if result is None:
        return Outcome(f"{seat_labels(hall.layout, [seat_id])[0]} released.", block=block, seat_map=after)
    if isinstance(result, HoldRefused):
        return replace(refused(hall, result, max_seats, block), seat_map=after)
    note = stranding_note(hall, stranded_by(hall.layout, after, result.seat_ids))
    return Outcome(note, block=block, note=note, seat_map=after)


def none_side_by_side(none: NoBlockFree) -> str:
    """Why no seats side by side can be had (too few free at all, or none together), and the way on."""
    wait = f"Join the waitlist below to be offered {none.count} seats side by side when they come free"
    if none.holding:
        wait = f"Release your seats to join the waitlist for {none.count} seats side by side"
    if none.too_few:
        return f"Only {none.free} seat(s) are free for this show. {wait}."
    return f"There are no {none.count} free seats side by side now. {wait}, or pick seats on the map."


async def best(holds: HoldStore, hall: ShowHall, user: int, count: int, max_seats: int) -> Outcome:
    """Replace the user's selection with the best `count` seats side by side (one core call)."""
    outcome = await holds.hold_best(hall.details.show_id, user, count)
    result, after = outcome.result, outcome.seat_map
    if isinstance(result, HoldRefused) and result.reason == HoldRefusalReason.NO_SEATS_TOGETHER:
        none = no_block_free(hall.layout, after, count)
        return Outcome(none_side_by_side(none), alert=True, join_waitlist_for=count, seat_map=after)
    if not isinstance(result, Hold):
        return replace(
            refused(hall, result or HoldRefused(HoldRefusalReason.SEAT_TAKEN), max_seats), seat_map=after
        )
    block = hall.plan.block_of(result.seat_ids[0])
    held = ", ".join(seat_labels(hall.layout, result.seat_ids))
    return Outcome(f"Held {held} for you.", block=block.number if block else HOME_BLOCK, seat_map=after)


async def release(holds: HoldStore, hall: ShowHall, user: int) -> Outcome:
    """Let all the user's seats of the show go (one core call, which answers with the map after)."""
    let_go, after = await holds.let_go(hall.details.show_id, user)
    if not let_go:
        text = "You hold no seats for this show any more (a hold lasts a few minutes)."
        return Outcome(text, alert=True, seat_map=after)
    return Outcome("Your seats are released.", seat_map=after)

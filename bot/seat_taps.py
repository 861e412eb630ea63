"""What a tap on the seat map does to the user's hold, and what to tell them about it.

Each function reads the seat map afresh, so a seat taken since the map was drawn is refused, and
returns an `Outcome`: the callback answer (an alert for a refusal) and where the redrawn map opens.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from booking_core.hold_types import HoldRefusalReason, HoldRefused
from booking_core.holds import HoldStore
from booking_core.seat_map import SeatMap, SeatState
from bot.seat_choice import free_seats, seat_labels, stranded_by, toggled
from bot.seat_keyboard import HOME_BLOCK
from bot.seat_map_screen import ShowHall
from bot.views.hold_refusals import hold_refusal

_UNAVAILABLE = {
    SeatState.SOLD: HoldRefusalReason.SEAT_SOLD,
    SeatState.HELD: HoldRefusalReason.SEAT_TAKEN,
    SeatState.OFFERED: HoldRefusalReason.WAITLIST_FIRST,
}


@dataclass(frozen=True)
class Outcome:
    """What a tap did: the answer to the press and the block the redrawn map shows."""

    text: str | None = None
    alert: bool = False
    block: int = HOME_BLOCK
    note: str | None = None  # a line for the caption too (the stranded-seat warning)
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
    """Add the seat to the user's hold, or take it out if it is theirs."""
    show_id = hall.details.show_id
    current = await holds.seat_map(show_id, user)
    state = current.states.get(seat_id)
    if current.closed:
        refusal: HoldRefusalReason | None = HoldRefusalReason.SHOW_STARTED
    elif current.unavailable_reason is not None:
        # A tap on a map drawn before the cinema's system went down: its states cannot be trusted.
        refusal = HoldRefusalReason.THEATRE_UNAVAILABLE
    else:
        refusal = HoldRefusalReason.UNKNOWN_SEAT if state is None else _UNAVAILABLE.get(state)
    if refusal is not None:
        return refused(hall, HoldRefused(refusal, (seat_id,)), max_seats, block)
    chosen = toggled(current.your_hold.seat_ids if current.your_hold else (), seat_id)
    if not chosen and current.your_hold is not None:
        await holds.release(show_id, current.your_hold.token)
        return Outcome(f"{seat_labels(hall.layout, [seat_id])[0]} released.", block=block)
    result = await holds.hold(show_id, user, chosen)
    if isinstance(result, HoldRefused):
        return refused(hall, result, max_seats, block)
    after = await holds.seat_map(show_id, user)
    note = stranding_note(hall, stranded_by(hall.layout, after, result.seat_ids))
    return Outcome(note, block=block, note=note)


def _none_side_by_side(current: SeatMap, count: int) -> str:
    """Why no `count` seats side by side can be had: too few free at all, or none together."""
    free = free_seats(current) + len(current.your_hold.seat_ids if current.your_hold else ())
    if free < count:
        return f"Only {free} seat(s) are free for this show. Join the waitlist to be offered seats."
    return f"There are no {count} free seats side by side now. Pick seats on the map instead."


async def best(holds: HoldStore, hall: ShowHall, user: int, count: int, max_seats: int) -> Outcome:
    """Replace the user's selection with the best `count` seats side by side (one core call)."""
    if count > max_seats:
        return refused(hall, HoldRefused(HoldRefusalReason.TOO_MANY_SEATS), max_seats)
    outcome = await holds.hold_best(hall.details.show_id, user, count)
    result, after = outcome.result, outcome.seat_map
    if isinstance(result, HoldRefused) and result.reason == HoldRefusalReason.NO_SEATS_TOGETHER:
        return replace(Outcome(_none_side_by_side(after, count), alert=True), seat_map=after)
    if isinstance(result, HoldRefused):
        return replace(refused(hall, result, max_seats), seat_map=after)
    block = hall.plan.block_of(result.seat_ids[0])
    held = ", ".join(seat_labels(hall.layout, result.seat_ids))
    return Outcome(f"Held {held} for you.", block=block.number if block else HOME_BLOCK, seat_map=after)


async def release(holds: HoldStore, hall: ShowHall, user: int) -> Outcome:
    """Let all the user's seats of the show go."""
    hold = await holds.current_hold(hall.details.show_id, user)
    if hold is None:
        return Outcome("You hold no seats for this show any more (a hold lasts a few minutes).", alert=True)
    await holds.release(hall.details.show_id, hold.token)
    return Outcome("Your seats are released.")

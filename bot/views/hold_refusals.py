"""Refusals of holds and of the waitlist in plain words, short enough for a callback alert (200 chars)."""

from __future__ import annotations

from collections.abc import Sequence

from booking_core.hold_types import HoldRefusalReason
from booking_core.waitlist import JoinRefusal


def hold_refusal(reason: HoldRefusalReason, seat_labels: Sequence[str] = (), *, max_seats: int = 10) -> str:
    """Why seats could not be held, for an alert."""
    seats = ", ".join(seat_labels)
    if reason == HoldRefusalReason.SEAT_TAKEN:
        return f"Sorry, {seats or 'that seat'} was just taken by someone else. The map is updated."
    if reason == HoldRefusalReason.SEAT_SOLD:
        return f"Sorry, {seats or 'that seat'} is already sold. The map is updated."
    if reason == HoldRefusalReason.TOO_MANY_SEATS:
        return (
            f"You can hold at most {max_seats} seats in one booking (from a waitlist offer: as many as "
            "were offered). Tap one of yours to let it go first."
        )
    if reason == HoldRefusalReason.SHOW_STARTED:
        return "Booking for this show has closed: it has started or is no longer on sale."
    if reason == HoldRefusalReason.RATE_LIMITED:
        return "That was a lot of taps in a minute. Please wait a moment, then try again."
    if reason == HoldRefusalReason.WAITLIST_FIRST:
        return (
            f"{seats or 'These seats'} just came free and go to people on the waitlist first. "
            "Join the waitlist to be offered seats."
        )
    return "That seat is not part of this show's hall any more. The map is updated."


def join_refusal(reason: JoinRefusal, *, max_seats: int = 10) -> str:
    """Why joining the waitlist was refused."""
    if reason == JoinRefusal.SHOW_STARTED:
        return "This show has started or is no longer on sale, so its waitlist is closed."
    if reason == JoinRefusal.TOO_MANY_SEATS:
        return f"The waitlist takes requests for at most {max_seats} seats."
    if reason == JoinRefusal.HOLDING:
        return (
            "You are holding seats for this show: pay for them, or release them before joining the waitlist."
        )
    return "Seats are already offered to you for this show: accept or decline them first."

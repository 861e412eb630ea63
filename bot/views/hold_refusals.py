"""Refusals of holds and of the waitlist in plain words, short enough for a callback alert (200 chars)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never

from booking_core.holds.errors import HoldRefusalReason, JoinRefusal


def hold_refusal(reason: HoldRefusalReason, seat_labels: Sequence[str] = (), *, max_seats: int = 10) -> str:
    """Why seats could not be held, for an alert."""
    seats = ", ".join(seat_labels)
    were = "were" if len(seat_labels) > 1 else "was"
    # A match with assert_never, so that mypy flags a reason the core adds before the bot has words for it.
    match reason:
        case HoldRefusalReason.SEAT_TAKEN:
            return f"Sorry, {seats or 'that seat'} {were} just taken by someone else. The map is updated."
        case HoldRefusalReason.SEAT_SOLD:
            are = "are" if len(seat_labels) > 1 else "is"
            return f"Sorry, {seats or 'that seat'} {are} already sold. The map is updated."
        case HoldRefusalReason.UNKNOWN_SEAT:
            return "That seat is not part of this show's hall any more. The map is updated."
        case HoldRefusalReason.TOO_MANY_SEATS:
            return (
                f"You can hold at most {max_seats} seats in one booking (from a waitlist offer: as many as "
                "were offered). Tap one of yours to let it go first."
            )
        case HoldRefusalReason.SHOW_STARTED:
            return "Booking for this show has closed: it has started or is no longer on sale."
        case HoldRefusalReason.RATE_LIMITED:
            return "That was a lot of taps in a minute. Please wait a moment, then try again."
        case HoldRefusalReason.WAITLIST_FIRST:
            return (
                f"{seats or 'These seats'} just came free and {'goes' if len(seat_labels) == 1 else 'go'} to "
                "people on the waitlist first. "
                "Join the waitlist to be offered seats."
            )
        case HoldRefusalReason.THEATRE_UNAVAILABLE:
            return "This cinema's booking system is temporarily unavailable. Please try again in a minute."
        case HoldRefusalReason.HOLD_LIMIT:
            return (
                "You have held seats for this show for as long as one may without paying. "
                "Please wait a few minutes, then pick again."
            )
        case HoldRefusalReason.TOO_MANY_SHOWS:
            return (
                "You are holding seats for other shows already. Pay for them or release them "
                "before picking seats here."
            )
        case HoldRefusalReason.NO_SEATS_TOGETHER:
            return "There are not that many free seats side by side now. Pick seats on the map instead."
        case HoldRefusalReason.NOT_ON_SALE_YET:
            return "Tickets for this show are not on sale yet. Join the queue to get your turn when they are."
        case HoldRefusalReason.NOT_YOUR_TURN:
            return (
                "This premiere sells through a queue: seats can be chosen only in your turn. "
                "Join the queue; we will message you when your turn comes."
            )
        case _:
            assert_never(reason)


def join_refusal(reason: JoinRefusal, *, max_seats: int = 10) -> str:
    """Why joining the waitlist was refused."""
    if reason == JoinRefusal.SHOW_STARTED:
        return "This show has started or is no longer on sale, so its waitlist is closed."
    if reason == JoinRefusal.TOO_MANY_SEATS:
        return f"The waitlist takes requests for at most {max_seats} seats."
    if reason == JoinRefusal.NOT_ON_SALE_YET:
        return "Tickets for this show are not on sale yet: join its queue instead."
    if reason == JoinRefusal.NOT_YOUR_TURN:
        return "This premiere sells through a queue right now: join the queue, and we will message you."
    if reason == JoinRefusal.HOLDING:
        return (
            "You are holding seats for this show: pay for them, or release them before joining the waitlist."
        )
    return "Seats are already offered to you for this show: accept or decline them first."

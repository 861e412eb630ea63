"""The waitlist screens: choosing a seat count, your place in line, leaving, an offer to accept or decline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from booking_core.catalogue.views import ShowDetails
from booking_core.holds.waitlist import WaitlistPosition
from booking_core.holds.waitlist_policy import WaitReason
from booking_core.tickets.content import compact_seats
from bot.codec import Action
from bot.views.screen import Screen, button, esc, in_rows, keyboard
from bot.views.seat_map import show_heading

COUNTS_PER_ROW = 5


def join_screen(details: ShowDetails, *, together: bool, max_seats: int, offer_minutes: int) -> Screen:
    """How many seats to wait for, and whether they must be side by side."""
    show_id = details.show_id
    text = "\n".join(
        [
            show_heading(details),
            "",
            "⏳ <b>Join the waitlist</b>",
            "When seats come free, the first person in line whose request fits gets them held in their "
            f"name and a message; they then have {offer_minutes} min to pay or decline.",
            "",
            f"Side by side: <b>{'yes' if together else 'no, any seats'}</b>",
            "How many seats do you need?",
        ]
    )
    counts = [
        button(str(n), Action.WAITLIST_JOIN, show_id, n, int(together)) for n in range(1, max_seats + 1)
    ]
    flip = "Side by side: yes ✅" if together else "Side by side: no"
    rows = [
        *in_rows(counts, COUNTS_PER_ROW),
        [button(flip, Action.WAITLIST_JOIN, show_id, 0, int(not together))],
        [button("⬅ Seat map", Action.SHOW, show_id, 0)],
    ]
    return Screen(text, keyboard(rows))


def _why(position: WaitlistPosition) -> str:
    if position.reason == WaitReason.SHOW_CLOSED:
        return "The show has started or is no longer on sale."
    if position.reason == WaitReason.OFFER_COMING:
        return "Your request fits the seats free now: an offer is on its way."
    if position.reason == WaitReason.NOT_TOGETHER:
        return (
            f"{position.available_seats} seats are free, but at most {position.largest_block} side by side."
        )
    if position.available_seats == 0:
        return "No seat is free right now."
    return f"Only {_seats(position.available_seats, False)} free right now."


def _seats(count: int, together: bool) -> str:
    noun = "seat" if count == 1 else "seats"
    return f"{count} {noun}" + (" side by side" if together and count > 1 else "")


def position_screen(details: ShowDetails, position: WaitlistPosition) -> Screen:
    """Where the user stands in line, and why there is no offer yet."""
    show_id = details.show_id
    ahead = "nobody is ahead of you" if position.ahead == 0 else f"{position.ahead} ahead of you"
    lines = [
        show_heading(details),
        "",
        f"⏳ You are <b>number {position.position}</b> on the waitlist for "
        f"{_seats(position.seats, position.together)} ({ahead}).",
        _why(position),
    ]
    if position.passed_over:
        lines.append(
            f"{position.passed_over} request(s) behind you were served first: "
            "they fitted seats that yours did not."
        )
    lines.append("We will message you as soon as seats are held for you.")
    rows = [
        [
            button("🔄 Refresh", Action.WAITLIST_STATUS, show_id),
            button("🚪 Leave the waitlist", Action.WAITLIST_LEAVE, show_id),
        ],
        [button("⬅ Seat map", Action.SHOW, show_id, 0)],
    ]
    return Screen("\n".join(lines), keyboard(rows))


def notice_screen(details: ShowDetails, notice: str) -> Screen:
    """A short outcome (left the waitlist, declined, not waiting) with the way back to the seat map."""
    text = f"{show_heading(details)}\n\n{esc(notice)}"
    return Screen(text, keyboard([[button("⬅ Seat map", Action.SHOW, details.show_id, 0)]]))


def offer_screen(
    details: ShowDetails, seat_labels: Sequence[str], expires_at: datetime, now: datetime
) -> Screen:
    """Seats held for a waiter: what, until when, Accept (to checkout) or Decline (to the next in line)."""
    until = expires_at.astimezone(details.local_starts_at.tzinfo)
    minutes = max(0, math.ceil((expires_at - now).total_seconds() / 60))
    text = "\n".join(
        [
            "🎟 <b>Seats for you from the waitlist!</b>",
            show_heading(details),
            "",
            f"<b>{compact_seats(seat_labels)}</b> are held in your name until <b>{until:%H:%M}</b> "
            f"({minutes} min).",
            "Accept to pay for them, or decline to pass them to the next person in line.",
        ]
    )
    choice = [
        button("✅ Accept", Action.OFFER_ACCEPT, details.show_id),
        button("✖ Decline", Action.OFFER_DECLINE, details.show_id),
    ]
    return Screen(text, keyboard([choice]))

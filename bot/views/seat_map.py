"""The seat-map screen: the hall picture, its caption (show, prices, block, legend, your seats and time)
and the keyboard of one block with the best-seat, pay/release and waitlist buttons."""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from booking_core.catalogue.views import ShowDetails
from booking_core.holds.seat_map import THEATRE_UNAVAILABLE, SeatMap
from booking_core.holds.types import Hold
from booking_core.tickets.content import compact_seats, format_money, format_show_time_short
from bot.codec import Action
from bot.seat_map.choice import seat_labels
from bot.views.screen import MAX_BUTTONS, button, esc, hall_app_url, keyboard, web_app_button
from bot.views.seat_keyboard import (
    Block,
    BlockPlan,
    best_row,
    legend,
    navigation_row,
    position_text,
    screen_row,
    seat_rows,
)

# Longer titles are cut so that the caption stays within Telegram's 1024 characters.
MAX_TITLE = 120
WHOLE_HALL = "🗺 Whole hall"
CLOSED_LINE = "🚫 Booking for this show has closed."
THEATRE_UNAVAILABLE_LINE = (
    "⚠️ This cinema's booking system is temporarily unavailable. Please try again in a minute."
)


class WaitlistButton(enum.Enum):
    """What the map offers about the waitlist."""

    NONE = "none"
    JOIN = "join"  # few seats left, or people already waiting
    STATUS = "status"  # the user is waiting


@dataclass(frozen=True)
class SeatMapView:
    """Everything one seat-map screen shows."""

    details: ShowDetails
    plan: BlockPlan
    block: Block
    seat_map: SeatMap
    now: datetime
    max_seats: int
    waitlist: WaitlistButton = WaitlistButton.NONE
    join_waitlist_for: int = 0  # the JOIN button joins for this many side by side at once (0: asks how many)
    note: str | None = None
    miniapp_url: str | None = None  # where the whole-hall Mini App is; None: no such button


def selection_total(details: ShowDetails, plan: BlockPlan, seat_ids: Sequence[int]) -> int | None:
    """What the seats cost at this show, in minor units; None if a seat's category has no price."""
    seats = [seat for seat in map(plan.seat, set(seat_ids)) if seat is not None]
    prices = [details.price_of(seat.category) for seat in seats]
    return None if any(price is None for price in prices) else sum(price or 0 for price in prices)


def prices_line(details: ShowDetails, plan: BlockPlan) -> str:
    """Each seat category's price, with where the special ones are."""
    parts = []
    for price in sorted(details.prices, key=lambda p: (p.category != "standard", p.category)):
        if price.category not in plan.layout.categories:
            continue
        where = None if price.category == "standard" else plan.rows_of(price.category)
        amount = format_money(price.amount_minor, details.currency)
        parts.append(f"{price.category} {amount}" + (f" ({where})" if where else ""))
    return " · ".join(parts)


def _minutes_left(hold: Hold, now: datetime) -> int:
    return max(0, math.ceil((hold.expires_at - now).total_seconds() / 60))


def seats_locked(seat_map: SeatMap) -> bool:
    """No seat can be picked right now: the show is closed, or its cinema's own system is not answering."""
    return seat_map.closed or seat_map.unavailable_reason is not None


def _locked_line(seat_map: SeatMap) -> str:
    if seat_map.closed:
        return CLOSED_LINE
    if seat_map.unavailable_reason == THEATRE_UNAVAILABLE:
        return THEATRE_UNAVAILABLE_LINE
    # A reason the core adds later still gets an honest, if vaguer, line rather than a seat keyboard.
    return "⚠️ Seats for this show can't be booked right now. Please try again in a minute."


def hold_lines(view: SeatMapView) -> list[str]:
    """Your seats with their price and how long they stay yours; or how to pick seats."""
    hold, layout = view.seat_map.your_hold, view.plan.layout
    if seats_locked(view.seat_map):
        return [_locked_line(view.seat_map)]
    if hold is None:
        return ["Tap free seats to hold them, or ✨N for the best N seats side by side."]
    total = selection_total(view.details, view.plan, hold.seat_ids)
    seats = compact_seats(seat_labels(layout, hold.seat_ids))
    price = f" · {format_money(total, view.details.currency)}" if total is not None else ""
    until = hold.expires_at.astimezone(view.details.local_starts_at.tzinfo)
    left = f"until {until:%H:%M} ({_minutes_left(hold, view.now)} min left)"
    if hold.is_offer:
        return [f"🎟 Offered to you from the waitlist: <b>{seats}</b>{price}", f"⏱ Yours {left}"]
    return [f"Your seats: <b>{seats}</b>{price}", f"⏱ Held for you {left}"]


def show_heading(details: ShowDetails) -> str:
    """The movie in bold, then cinema, hall and local start (Telegram HTML)."""
    when = format_show_time_short(details.local_starts_at)
    where = f"{details.cinema.name} · {details.hall_name} · {when}"
    return f"<b>{esc(details.movie.title[:MAX_TITLE])}</b>\n{esc(where)}"


def seat_map_caption(view: SeatMapView) -> str:
    """The caption under the hall picture (Telegram HTML)."""
    lines = [
        show_heading(view.details),
        esc(prices_line(view.details, view.plan)),
        "",
        position_text(view.plan, view.block),
        legend(view.plan.layout, view.seat_map.states),
        "",
        *hold_lines(view),
    ]
    if view.note:
        lines.append(esc(view.note))
    return "\n".join(lines)


def _action_row(view: SeatMapView) -> list[InlineKeyboardButton]:
    show_id, hold = view.details.show_id, view.seat_map.your_hold
    if hold is not None:
        total = selection_total(view.details, view.plan, hold.seat_ids)
        pay = "💳 Pay" + (f" {format_money(total, view.details.currency)}" if total is not None else "")
        let_go = (
            button("✖ Decline offer", Action.OFFER_DECLINE, show_id)
            if hold.is_offer
            else button("↩ Release", Action.RELEASE, show_id)
        )
        return [button(pay, Action.CHECKOUT, show_id), let_go]
    row = [_other_shows(view.details)]
    if view.waitlist == WaitlistButton.STATUS:
        row.append(button("⏳ My place in line", Action.WAITLIST_STATUS, show_id))
    elif view.waitlist == WaitlistButton.JOIN and view.join_waitlist_for:
        wanted = view.join_waitlist_for
        row.append(button(f"⏳ Wait for {wanted} side by side", Action.WAITLIST_JOIN, show_id, wanted, 1))
    elif view.waitlist == WaitlistButton.JOIN:
        row.append(button("⏳ Join the waitlist", Action.WAITLIST_JOIN, show_id, 0, 1))
    return row


def _other_shows(details: ShowDetails) -> InlineKeyboardButton:
    """Back to the movie's shows in the cinema's city."""
    return button("⬅ Other shows", Action.MOVIE, details.cinema.city_id, details.movie.id)


def seat_map_keyboard(view: SeatMapView) -> InlineKeyboardMarkup:
    """The block's keyboard: screen, seat rows, navigation, best seats, actions (at most 100 buttons)."""
    show_id, seat_map = view.details.show_id, view.seat_map
    if seat_map.closed:
        return keyboard([[_other_shows(view.details)]])
    if seats_locked(seat_map):
        # Only for a while: offer a refresh of the same block next to the way back.
        refresh = button("🔄 Refresh", Action.SHOW, show_id, view.block.number)
        return keyboard([[_other_shows(view.details), refresh]])
    counts = [count for count in view.plan.best_counts if count <= view.max_seats]
    navigation = navigation_row(show_id, view.plan, view.block)
    if view.miniapp_url:
        navigation.append(web_app_button(WHOLE_HALL, hall_app_url(view.miniapp_url, show_id)))
    seats = seat_rows(show_id, view.block, seat_map.states)
    actions = _action_row(view)
    # The whole-hall button takes its place from the largest best-seat counts when the keyboard is full.
    room = MAX_BUTTONS - 1 - sum(len(row) for row in seats) - len(navigation) - len(actions)
    return keyboard([screen_row(), *seats, navigation, best_row(show_id, counts[: max(1, room)]), actions])

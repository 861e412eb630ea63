"""Checkout: the summary of what is being bought, the Pay button, and every way it can fail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from booking_core.bookings.customers import CustomerRecord
from booking_core.bookings.errors import CheckoutRefusal
from booking_core.catalogue.views import ShowDetails
from booking_core.hall_layout import HallLayout
from bot.codec import Action
from bot.views.format import countdown, format_money, format_show_time, language_label, local
from bot.views.screen import Screen, button, esc, keyboard, url_button


@dataclass(frozen=True)
class SeatLine:
    """Seats of one category in the selection, at that category's price each."""

    category: str
    labels: tuple[str, ...]
    price_minor: int | None


def seat_lines(layout: HallLayout | None, details: ShowDetails, seat_ids: Sequence[int]) -> list[SeatLine]:
    """The selected seats grouped by category in hall order, each group with its price."""
    wanted = set(seat_ids)
    groups: dict[str, list[str]] = {}
    if layout is not None:
        for row in layout.rows:
            for seat in row.seats:
                if seat.id in wanted:
                    groups.setdefault(seat.category, []).append(seat.label)
    return [
        SeatLine(category, tuple(labels), details.price_of(category)) for category, labels in groups.items()
    ]


def show_lines(details: ShowDetails) -> list[str]:
    """Movie, time on the cinema's clock, cinema and hall: the head of every booking screen."""
    movie = details.movie
    return [
        f"🎬 <b>{esc(movie.title)}</b> ({esc(movie.age_rating)}, {language_label(movie.language)})",
        f"🗓 {format_show_time(local(details.starts_at, details.cinema.timezone))}",
        f"🏛 {esc(details.cinema.name)}, {esc(details.hall_name)}",
    ]


def delivery_line(customer: CustomerRecord | None) -> str:
    """Where the ticket will go besides this chat."""
    extra = []
    if customer is not None and customer.phone:
        extra.append(f"SMS to {esc(customer.phone)}")
    if customer is not None and customer.email:
        extra.append(f"email to {esc(customer.email)}")
    also = f", plus {' and '.join(extra)}" if extra else ""
    return f"📨 Your ticket comes here in Telegram{also}."


def checkout_screen(
    booking_id: int,
    details: ShowDetails,
    seats: Sequence[SeatLine],
    amount_minor: int,
    currency: str,
    expires_at: datetime,
    now: datetime,
    pay_url: str,
    customer: CustomerRecord | None,
) -> Screen:
    """The summary (movie, cinema, hall, time, seats, price), Pay, delivery details, Cancel.

    Cancel cancels the booking itself (CANCEL_CONFIRMED): the hold is released and the provider's
    checkout closed, so the page cannot be paid afterwards.
    """
    total = format_money(amount_minor, currency)
    until = local(expires_at, details.cinema.timezone)
    lines = ["🧾 <b>Your booking</b>", "", *show_lines(details)]
    for line in seats:
        price = f" · {format_money(line.price_minor, currency)} each" if line.price_minor is not None else ""
        lines.append(f"💺 {esc(', '.join(line.labels))} ({esc(line.category)}{price})")
    lines += [
        f"💶 Total: <b>{total}</b>",
        "",
        f"⏳ Seats held until {until:%H:%M} ({countdown(expires_at, now)} left). Pay by then to keep them.",
        delivery_line(customer),
    ]
    rows = [
        [url_button(f"💳 Pay {total}", pay_url)],
        [button("📨 Ticket delivery: SMS / email", Action.CONTACTS, details.show_id)],
        [
            button("⬅️ Seats", Action.SHOW, details.show_id, 0),
            button("✖️ Cancel", Action.CANCEL_CONFIRMED, booking_id),
        ],
    ]
    return Screen("\n".join(lines), keyboard(rows))


def hold_gone_screen(details: ShowDetails | None, show_id: int) -> Screen:
    """The seats are no longer held (expired, released, or replaced): offer to pick again."""
    if details is None:
        return Screen(
            "🎬 That show is no longer listed.", keyboard([[button("🎬 Find a show", Action.CITIES)]])
        )
    lines = [
        "⌛ <b>Your seats are no longer held</b>",
        "",
        *show_lines(details),
        "",
        "Seats are held for a few minutes while you pay. Pick them again: they may well still be free.",
    ]
    rows = [
        [button("💺 Pick seats", Action.SHOW, show_id, 0)],
        [button("⬅️ Other shows", Action.MOVIE, details.cinema.city_id, details.movie.id)],
    ]
    return Screen("\n".join(lines), keyboard(rows))


def refused_screen(
    reason: CheckoutRefusal, details: ShowDetails | None, show_id: int, *, cinema_price: str | None = None
) -> Screen:
    """Why a checkout could not start, in plain words, with the next step (`cinema_price`: its price now)."""
    if reason == CheckoutRefusal.HOLD_EXPIRED or details is None:
        return hold_gone_screen(details, show_id)
    other_shows = button("⬅️ Other shows", Action.MOVIE, details.cinema.city_id, details.movie.id)
    if reason == CheckoutRefusal.SHOW_UNAVAILABLE:
        text = "🎬 This show is no longer on sale: it has started or was withdrawn."
        return Screen(text, keyboard([[other_shows]]))
    if reason == CheckoutRefusal.ALREADY_BOOKED:
        text = "✅ These seats are already booked for you. Your ticket is under My tickets."
        return Screen(text, keyboard([[button("🎟 My tickets", Action.TICKETS)]]))
    if reason == CheckoutRefusal.NO_PRICE:
        text = (
            "😕 One of your seats has no price for this show, so it can't be sold. Please pick other seats."
        )
        return Screen(text, keyboard([[button("💺 Pick seats", Action.SHOW, show_id, 0)], [other_shows]]))
    if reason == CheckoutRefusal.PRICE_CHANGED:
        now = f" to {cinema_price}" if cinema_price else ""
        text = (
            f"💶 The cinema has changed the price of these seats{now}"
            " since we last heard from it, so nothing was charged. Please try again in a few minutes, "
            "when Marquee shows the new price."
        )
        return Screen(text, keyboard([[button("💺 Pick seats", Action.SHOW, show_id, 0)], [other_shows]]))
    text = "😕 I couldn't find your customer record. Send /start and try again."
    return Screen(text, keyboard([[button("🎬 Start over", Action.CITIES)]]))


def provider_down_screen(
    booking_id: int, details: ShowDetails, expires_at: datetime, now: datetime
) -> Screen:
    """The payment provider did not answer: the seats stay held, try again."""
    until = local(expires_at, details.cinema.timezone)
    text = (
        "😕 The payment service isn't answering right now.\n\n"
        f"Your seats stay held until {until:%H:%M} ({countdown(expires_at, now)} left). "
        "Try again in a moment."
    )
    rows = [
        [button("🔁 Try again", Action.CHECKOUT, details.show_id)],
        [button("✖️ Cancel", Action.CANCEL_CONFIRMED, booking_id)],
    ]
    return Screen(text, keyboard(rows))


def closed_checkout_text(kind: str) -> str:
    """What a checkout message turns into once it can no longer be paid."""
    return {
        "paid": "✅ Paid. Your booking is confirmed: the ticket is below.",
        "refund": "↩️ This booking could not be completed. Your money is on its way back: details below.",
        "expired": "⌛ This checkout has closed: the seats were released when the hold ran out.",
        "cancelled": "✖️ This checkout was cancelled and the seats released.",
    }.get(kind, "This checkout has closed.")

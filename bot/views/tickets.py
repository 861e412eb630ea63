"""/mytickets: upcoming and past bookings, one ticket with its QR code, and cancelling a booking."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date, datetime
from typing import assert_never

from telegram import InlineKeyboardButton

from booking_core.bookings.cancellation import CancelRefusal
from booking_core.bookings.service import BookedTicket
from booking_core.models import BookingStatus
from booking_core.tickets.content import TicketView, shorten
from bot.codec import Action
from bot.views.format import compact_seats, format_money, format_show_time, local, show_label
from bot.views.screen import MAX_CAPTION, Screen, button, esc, keyboard

# Buttons for past bookings beyond this are left out (the text still lists them).
MAX_PAST_BUTTONS = 5
MAX_UPCOMING_BUTTONS = 40

_STATUS = {
    BookingStatus.CONFIRMED: "",
    BookingStatus.PAID_UNCONFIRMED: "⏳ being confirmed",
    BookingStatus.REFUND_PENDING: "↩️ refund on its way",
    BookingStatus.REFUNDED: "↩️ refunded",
    BookingStatus.CANCELLED: "✖️ cancelled",
}


def status_label(ticket: BookedTicket) -> str:
    """A short word on a booking that is not a plain valid ticket ("" when it is)."""
    return _STATUS.get(ticket.status, ticket.status.value)


def _when(ticket: BookedTicket, today: date) -> str:
    return show_label(local(ticket.starts_at, ticket.timezone), today)


def _line(ticket: BookedTicket, today: date) -> str:
    status = status_label(ticket)
    tail = f" · {status}" if status else ""
    return (
        f"• <b>{esc(ticket.movie_title)}</b> · {_when(ticket, today)}\n"
        f"  {esc(ticket.cinema_name)} · {esc(compact_seats(ticket.seat_labels))}{tail}"
    )


def tickets_screen(upcoming: Sequence[BookedTicket], past: Sequence[BookedTicket], now: datetime) -> Screen:
    """The user's bookings: upcoming soonest first, then past; a button opens each ticket."""
    book = [button("🎬 Book a ticket", Action.CITIES)]
    if not upcoming and not past:
        return Screen("🎟 You have no tickets yet.", keyboard([book]))
    today = now.date()
    lines = ["🎟 <b>Your tickets</b>"]
    rows: list[list[InlineKeyboardButton]] = []
    if upcoming:
        today = local(now, upcoming[0].timezone).date()
        lines += ["", "<b>Upcoming</b>", *(_line(ticket, today) for ticket in upcoming)]
        rows += [
            [button(f"🎟 {ticket.movie_title} · {_when(ticket, today)}", Action.TICKET, ticket.booking_id)]
            for ticket in upcoming[:MAX_UPCOMING_BUTTONS]
        ]
    else:
        lines += ["", "No upcoming shows booked."]
    if past:
        lines += ["", "<b>Past</b>", *(_line(ticket, today) for ticket in past)]
        rows += [
            [button(f"🕘 {ticket.movie_title} · {_when(ticket, today)}", Action.TICKET, ticket.booking_id)]
            for ticket in past[:MAX_PAST_BUTTONS]
        ]
    rows.append(book)
    return Screen("\n".join(lines), keyboard(rows))


def ticket_screen(ticket: BookedTicket, qr: bytes | str | None, now: datetime) -> Screen:
    """One booking: the QR code with the ticket as its caption when it stands, else its details and status."""
    rows: list[list[InlineKeyboardButton]] = []
    if ticket.can_cancel:
        rows.append([button("✖️ Cancel booking", Action.CANCEL_BOOKING, ticket.booking_id)])
    rows.append([button("⬅️ My tickets", Action.TICKETS)])
    if ticket.view is not None and qr is not None:
        caption = telegram_caption(ticket.view)
        past = "🕘 <i>This show has taken place.</i>\n"
        if ticket.starts_at <= now and len(past) + len(caption) <= MAX_CAPTION:
            caption = past + caption
        return Screen(caption, keyboard(rows), photo=qr)
    start = local(ticket.starts_at, ticket.timezone)
    status = status_label(ticket)
    lines = [
        f"🎟 <b>{esc(ticket.movie_title)}</b>",
        f"🗓 {show_label(start, local(now, ticket.timezone).date())}",
        f"🏛 {esc(ticket.cinema_name)}, {esc(ticket.hall_name)}",
        f"💺 {esc(', '.join(ticket.seat_labels))}",
        f"💶 {format_money(ticket.amount_minor, ticket.currency)}",
    ]
    if status:
        lines += ["", f"Status: {status}"]
    if ticket.status_reason and ticket.status != BookingStatus.CONFIRMED:
        lines.append(f"Why: {esc(ticket.status_reason)}")
    return Screen("\n".join(lines), keyboard(rows))


def cancel_question_screen(ticket: BookedTicket, now: datetime) -> Screen:
    """Ask before cancelling: what is cancelled and what comes back."""
    start = local(ticket.starts_at, ticket.timezone)
    text = (
        f"❓ Cancel your booking for <b>{esc(ticket.movie_title)}</b>, "
        f"{show_label(start, local(now, ticket.timezone).date())}, "
        f"seats {esc(compact_seats(ticket.seat_labels))}?\n\n"
        f"{format_money(ticket.amount_minor, ticket.currency)} goes back to the card you paid with, "
        "and the seats are released for others."
    )
    rows = [
        [button("✅ Yes, cancel it", Action.CANCEL_CONFIRMED, ticket.booking_id)],
        [button("⬅️ No, keep it", Action.TICKET, ticket.booking_id)],
    ]
    return Screen(text, keyboard(rows))


def cancelled_booking_screen(ticket: BookedTicket | None, refund_started: bool) -> Screen:
    """A booking just cancelled."""
    title = f" for <b>{esc(ticket.movie_title)}</b>" if ticket else ""
    text = f"✅ Your booking{title} is cancelled and the seats are released."
    if refund_started and ticket is not None:
        text += (
            f"\n\n↩️ {format_money(ticket.amount_minor, ticket.currency)} is on its way back to your card; "
            "banks usually take a few days to show it."
        )
    return Screen(
        text,
        keyboard([[button("🎟 My tickets", Action.TICKETS)], [button("🎬 Book a ticket", Action.CITIES)]]),
    )


def cancel_refused_text(reason: CancelRefusal, cutoff_minutes: int) -> str:
    """Why a booking cannot be cancelled, as an alert."""
    # A match with assert_never, so that mypy flags a reason the core adds before the bot has words for it.
    match reason:
        case CancelRefusal.NOT_FOUND:
            return "That booking isn't one of yours."
        case CancelRefusal.TOO_LATE:
            return f"Bookings can be cancelled until {cutoff_minutes} minutes before the show."
        case CancelRefusal.NOT_CANCELLABLE:
            return "This booking can't be cancelled any more."
        case CancelRefusal.THEATRE_MANAGED:
            return "This cinema handles its own cancellations: ask at the box office."
        case CancelRefusal.THEATRE_UNAVAILABLE:
            return (
                "This cinema's booking system is temporarily unavailable, so the booking can't be "
                "cancelled right now. Please try again in a minute."
            )
        case _:
            assert_never(reason)


def checkout_cancelled_screen(show_id: int | None) -> Screen:
    """A booking cancelled before it was paid: nothing was charged, the seats are free again."""
    text = "✖️ Checkout cancelled. Nothing was charged, and your seats are released."
    rows = [[button("💺 Pick other seats", Action.SHOW, show_id, 0)]] if show_id else []
    rows.append([button("🎬 Find a show", Action.CITIES)])
    return Screen(text, keyboard(rows))


def telegram_caption(view: TicketView) -> str:
    """The caption under the QR photo, in Telegram's HTML parse mode, within its 1024-character limit."""

    def render(title: str) -> str:
        lines = [
            f"🎟 <b>{html.escape(title)}</b>",
            f"{format_show_time(view.local_start)}",
            f"{html.escape(view.cinema_name)}, {html.escape(view.hall_name)}",
            html.escape(view.cinema_address),
            f"Seats: {html.escape(', '.join(view.seat_labels))}",
            f"Paid: {format_money(view.amount_minor, view.currency)}",
            f"Ticket code: <code>{html.escape(view.code)}</code>",
        ]
        if view.theatre_ticket_id:
            lines.append(f"Cinema ticket: <code>{html.escape(view.theatre_ticket_id)}</code>")
        lines.append("Show this QR code or the ticket code at the door.")
        return "\n".join(lines)

    caption = render(view.movie_title)
    if len(caption) <= MAX_CAPTION:
        return caption
    # The longest shortened title that fits (escaping makes the caption's length uneven in it).
    fits, too_long = 1, len(view.movie_title)
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if len(render(shorten(view.movie_title, middle, "…"))) <= MAX_CAPTION:
            fits = middle
        else:
            too_long = middle
    return render(shorten(view.movie_title, fits, "…"))[:MAX_CAPTION]

"""Messages the core's events call for: a waitlist offer, a hold about to lapse or lapsed, a booking
confirmed, money going back. Each says what happened, to which show, and what the user can do next."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from booking_core.bookings.service import BookedTicket
from booking_core.catalogue.views import ShowDetails
from booking_core.hall_layout import HallLayout
from booking_core.tickets.content import TicketView
from bot.codec import Action
from bot.views.format import compact_seats, countdown, format_money, local, short_day
from bot.views.screen import Screen, button, esc, keyboard


def seat_labels(layout: HallLayout | None, seat_ids: Sequence[int]) -> list[str]:
    """The labels of seats in hall order ("A5", "A6"); ids missing from the layout are skipped."""
    wanted = set(seat_ids)
    if layout is None:
        return []
    return [seat.label for row in layout.rows for seat in row.seats if seat.id in wanted]


def _show_phrase(details: ShowDetails | None) -> str:
    if details is None:
        return "your show"
    start = local(details.starts_at, details.cinema.timezone)
    return (
        f"<b>{esc(details.movie.title)}</b>, {short_day(start.date())} {start:%H:%M} "
        f"at {esc(details.cinema.name)} ({esc(details.hall_name)})"
    )


def _local(details: ShowDetails | None, moment: datetime) -> datetime:
    """A moment on the cinema's clock (UTC when the show is unknown)."""
    return local(moment, details.cinema.timezone if details else "UTC")


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _seats_phrase(labels: Sequence[str], count: int) -> str:
    if labels:
        return f"seat{'s' if len(labels) > 1 else ''} {esc(compact_seats(labels))}"
    return f"{count} seat{'s' if count != 1 else ''}"


def offer_made(details: ShowDetails | None, show_id: int, labels: Sequence[str], count: int,
               expires_at: datetime, now: datetime) -> Screen:  # fmt: skip
    """Seats freed up for a waiter: they are held in their name for a short while."""
    until = _local(details, expires_at)
    text = (
        "🎉 <b>Seats for you!</b>\n\n"
        f"Seats came free for {_show_phrase(details)}.\n"
        f"💺 {_upper_first(_seats_phrase(labels, count))} "
        f"{'are' if count != 1 else 'is'} held for you until {until:%H:%M} "
        f"({countdown(expires_at, now)} left)."
    )
    rows = [
        [
            button("✅ Take them", Action.OFFER_ACCEPT, show_id),
            button("🙅 No thanks", Action.OFFER_DECLINE, show_id),
        ]
    ]
    return Screen(text, keyboard(rows))


def offer_expired(details: ShowDetails | None, show_id: int) -> Screen:
    """A waitlist offer lapsed unanswered and passed to the next person in line."""
    text = (
        f"⌛ The seats offered to you for {_show_phrase(details)} went to the next person in line: "
        "the offer ran out before you answered."
    )
    return Screen(text, keyboard([[button("💺 See the show", Action.SHOW, show_id, 0)]]))


def hold_expired(details: ShowDetails | None, show_id: int, labels: Sequence[str], count: int) -> Screen:
    """The user's held seats were released because time ran out."""
    text = (
        f"⌛ Your {_seats_phrase(labels, count)} for {_show_phrase(details)} "
        "were released because time ran out before payment.\n\nThey may still be free: pick them again?"
    )
    return Screen(text, keyboard([[button("💺 Pick seats again", Action.SHOW, show_id, 0)]]))


def hold_expiring(details: ShowDetails | None, show_id: int, labels: Sequence[str], count: int,
                  expires_at: datetime, now: datetime, is_offer: bool) -> Screen:  # fmt: skip
    """A reminder shortly before a hold (or a waitlist offer) lapses."""
    until = _local(details, expires_at)
    text = (
        f"⏳ <b>{countdown(expires_at, now).capitalize()} left</b>\n\n"
        f"Your {_seats_phrase(labels, count)} for {_show_phrase(details)} "
        f"{'are' if count != 1 else 'is'} held until {until:%H:%M}. "
    )
    if is_offer:
        text += "Take them now or they pass to the next person in line."
        rows = [
            [
                button("✅ Take them", Action.OFFER_ACCEPT, show_id),
                button("🙅 No thanks", Action.OFFER_DECLINE, show_id),
            ]
        ]
    else:
        text += "Pay now to keep them."
        rows = [[button("💳 Go to payment", Action.CHECKOUT, show_id)]]
    return Screen(text, keyboard(rows))


def booking_confirmed(view: TicketView | None) -> Screen:
    """Payment arrived and the booking stands; the ticket itself follows from the delivery worker."""
    tickets = keyboard([[button("🎟 My tickets", Action.MY_TICKETS)]])
    if view is None:
        return Screen("✅ <b>Booking confirmed!</b> Your ticket is under My tickets.", tickets)
    start = view.local_start
    text = "\n".join(
        [
            "✅ <b>Booking confirmed!</b>",
            "",
            f"🎬 <b>{esc(view.movie_title)}</b>",
            f"🗓 {short_day(start.date())} {start:%H:%M}",
            f"🏛 {esc(view.cinema_name)}, {esc(view.hall_name)}",
            f"💺 {esc(compact_seats(view.seat_labels))}",
            f"💶 Paid {format_money(view.amount_minor, view.currency)}",
            "",
            "Your ticket with its QR code follows, and it's always under My tickets.",
        ]
    )
    return Screen(text, tickets)


def refund_started(ticket: BookedTicket | None, reason: str) -> Screen:
    """Money was taken but the booking cannot stand: it goes back, and why."""
    why = esc(reason.strip().rstrip(".")) or "the booking could not be completed"
    if ticket is None:
        what = "your booking"
        amount = "Your payment"
    else:
        start = local(ticket.starts_at, ticket.timezone)
        what = f"<b>{esc(ticket.movie_title)}</b> ({short_day(start.date())} {start:%H:%M})"
        amount = format_money(ticket.amount_minor, ticket.currency)
    text = (
        "↩️ <b>Your money is on its way back</b>\n\n"
        f"We couldn't complete {what}: {why}.\n"
        f"{amount} will be refunded to the card you paid with; banks usually take a few days to show it."
    )
    return Screen(
        text,
        keyboard(
            [[button("🎬 Find another show", Action.CITIES)], [button("🎟 My tickets", Action.MY_TICKETS)]]
        ),
    )


def turn_came(details: ShowDetails | None, show_id: int, ends_at: datetime, now: datetime) -> Screen:
    """The user's turn in a premiere's on-sale queue: choose seats before the window closes."""
    until = _local(details, ends_at)
    text = (
        "🎟 <b>It's your turn!</b>\n\n"
        f"Choose your seats for {_show_phrase(details)} before {until:%H:%M} "
        f"({countdown(ends_at, now)} left). Seats you hold are then yours for the usual time to pay; "
        "if you hold none by then, your turn passes to the next person in the queue."
    )
    return Screen(text, keyboard([[button("💺 Choose seats", Action.SHOW, show_id, 0)]]))


def queue_sold_out(details: ShowDetails | None, show_id: int, party: int) -> Screen:
    """A premiere sold out before the user's turn: say so plainly and offer its waitlist."""
    seats = f"{party} seat{'s' if party != 1 else ''}"
    text = (
        f"😔 <b>Sold out.</b> Every seat for {_show_phrase(details)} is sold, so the queue is over "
        "before your turn came.\n\n"
        f"If anyone cancels, the seats go to the waitlist first: join it for {seats}?"
    )
    rows = [
        [button(f"🕒 Join the waitlist ({seats})", Action.WAITLIST_JOIN, show_id, party, 0)],
        [button("🎬 Find another show", Action.CITIES)],
    ]
    return Screen(text, keyboard(rows))

"""The ticket email: plain text and HTML alternatives, the QR code inline, and a calendar entry.

Structure (what mail clients expect for inline images plus an attachment):
multipart/mixed [ multipart/alternative [ text/plain, multipart/related [ text/html, image/png ] ],
text/calendar (ticket.ics) ].
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from icalendar import Calendar, Event

from booking_core.tickets.content import TicketView, format_money, format_show_time, qr_png


def email_message(
    view: TicketView, from_addr: str, to_addr: str, *, now: datetime | None = None
) -> EmailMessage:
    """The complete ticket email, ready for a MailSender (it carries its own Message-ID)."""
    now = now or datetime.now(UTC)
    domain = _domain_of(from_addr)
    when = format_show_time(view.local_start)
    message = EmailMessage()
    message["Subject"] = f"Your ticket: {view.movie_title}, {when}"
    message["From"] = from_addr
    message["To"] = to_addr
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid("ticket", domain=domain)
    message.set_content(_plain_text(view, when))
    qr_cid = make_msgid("qr", domain=domain)
    message.add_alternative(_html(view, when, qr_cid), subtype="html")
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    html_part.add_related(
        qr_png(view.code), "image", "png", cid=qr_cid, filename="ticket-qr.png", disposition="inline"
    )
    message.add_attachment(
        calendar_invite(view, now=now),
        maintype="text",
        subtype="calendar",
        filename="ticket.ics",
        params={"method": "PUBLISH"},
    )
    return message


def calendar_invite(view: TicketView, *, now: datetime) -> bytes:
    """An iCalendar (.ics) entry for the show, its start and end in UTC."""
    start = view.starts_at.astimezone(UTC)
    event = Event()
    event.add("uid", f"{view.code}@marquee-ticket")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=view.runtime_minutes))
    event.add("summary", view.movie_title)
    event.add("location", f"{view.cinema_name}, {view.cinema_address}")
    event.add(
        "description",
        f"{view.hall_name}, seats {', '.join(view.seat_labels)}. Ticket code {view.code}.",
    )
    calendar = Calendar()
    calendar.add("prodid", "-//Marquee//Tickets//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    return calendar.to_ical()


def _plain_text(view: TicketView, when: str) -> str:
    lines = [
        f"Your ticket for {view.movie_title}",
        "",
        f"When:   {when} (local time)",
        f"Where:  {view.cinema_name}, {view.hall_name}",
        f"        {view.cinema_address}",
        f"Seats:  {', '.join(view.seat_labels)}",
        f"Paid:   {format_money(view.amount_minor, view.currency)}",
        f"Ticket code: {view.code}",
    ]
    if view.theatre_ticket_id:
        lines.append(f"Cinema ticket: {view.theatre_ticket_id}")
    lines += ["", "Show the ticket code (or the QR code in this email) at the door. Enjoy the film!"]
    return "\n".join(lines) + "\n"


def _html(view: TicketView, when: str, qr_cid: str) -> str:
    def row(label: str, value: str) -> str:
        return f"<tr><th align='left'>{label}</th><td>{html.escape(value)}</td></tr>"

    rows = [
        row("When", f"{when} (local time)"),
        row("Where", f"{view.cinema_name}, {view.hall_name}"),
        row("Address", view.cinema_address),
        row("Seats", ", ".join(view.seat_labels)),
        row("Paid", format_money(view.amount_minor, view.currency)),
        row("Ticket code", view.code),
    ]
    if view.theatre_ticket_id:
        rows.append(row("Cinema ticket", view.theatre_ticket_id))
    return (
        "<!doctype html><html><body>"
        f"<h1>{html.escape(view.movie_title)}</h1>"
        f"<table>{''.join(rows)}</table>"
        f"<p><img src='cid:{qr_cid[1:-1]}' alt='QR code for ticket {html.escape(view.code)}'"
        " width='290' height='290'></p>"
        "<p>Show this QR code or the ticket code at the door. Enjoy the film!</p>"
        "</body></html>"
    )


def _domain_of(address: str) -> str:
    _, bare = parseaddr(address)
    return bare.rpartition("@")[2] or "marquee.invalid"

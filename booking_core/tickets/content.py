"""What a ticket says, rendered for each channel: QR code and SMS text.

Pure functions of a TicketView, so each can be tested without sending anything. Times are shown in
the cinema's own timezone, money from minor units. The email lives in `booking_core.tickets.email`, the
Telegram caption (HTML) in `bot.views.tickets`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import segno

from booking_core.tickets.sms_encoding import is_gsm7, sms_length, sms_segments

SMS_MAX_SEGMENTS = 2
_SMS_BUDGET = {True: 306, False: 134}  # units in two segments: GSM-7 septets, UCS-2 code units

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
# ISO 4217 currencies whose minor unit is not a hundredth.
_MINOR_DIGITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND"), 0),
    **dict.fromkeys(("VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
_SEAT_LABEL = re.compile(r"^(\D*)(\d+)$")


@dataclass(frozen=True)
class TicketView:
    """Everything a ticket shows, gathered from the booking, show, hall and cinema."""

    code: str
    movie_title: str
    cinema_name: str
    cinema_address: str
    hall_name: str
    seat_labels: tuple[str, ...]
    starts_at: datetime  # UTC, timezone-aware
    timezone: str  # the cinema's IANA timezone name, e.g. "Europe/Berlin"
    runtime_minutes: int
    amount_minor: int
    currency: str  # ISO 4217, e.g. "EUR"
    theatre_ticket_id: str | None = None

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None:
            raise ValueError("starts_at must be timezone-aware")

    @property
    def local_start(self) -> datetime:
        """The start time on the cinema's clock."""
        return self.starts_at.astimezone(ZoneInfo(self.timezone))


def format_money(amount_minor: int, currency: str) -> str:
    """An amount in minor units as people read it, e.g. (2550, "EUR") → "25.50 EUR"."""
    digits = _MINOR_DIGITS.get(currency.upper(), 2)
    sign = "-" if amount_minor < 0 else ""
    whole, minor = divmod(abs(amount_minor), 10**digits)
    amount = f"{whole:,}" + (f".{minor:0{digits}d}" if digits else "")
    return f"{sign}{amount} {currency.upper()}"


def format_show_time(local: datetime) -> str:
    """A local show time in full, e.g. "Saturday 14 June 2025, 19:30"."""
    return f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"


def format_show_time_short(local: datetime) -> str:
    """A local show time for an SMS, e.g. "Sat 14 Jun 19:30"."""
    return f"{_WEEKDAYS[local.weekday()][:3]} {local.day} {_MONTHS[local.month - 1][:3]} {local:%H:%M}"


def compact_seats(labels: Sequence[str]) -> str:
    """Seat labels with runs of three or more neighbours as ranges: A1, A2, A3, B7 → "A1-A3, B7"."""
    runs: list[list[str]] = []
    previous: tuple[str, int] | None = None
    for label in labels:
        match = _SEAT_LABEL.match(label)
        current = (match[1], int(match[2])) if match else None
        if current and previous and current == (previous[0], previous[1] + 1):
            runs[-1].append(label)
        else:
            runs.append([label])
        previous = current
    return ", ".join(
        f"{run[0]}-{run[-1]}" if len(run) >= 3 else ", ".join(run)
        for run in runs
    )  # fmt: skip


def qr_png(code: str) -> bytes:
    """The ticket code as a QR code PNG, big enough to scan from a phone screen."""
    buffer = io.BytesIO()
    segno.make_qr(code, error="m").save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


def sms_text(view: TicketView) -> str:
    """An SMS that stands on its own at the door, in at most two segments (long names are shortened)."""
    fields = {
        "title": view.movie_title,
        "place": f"{view.cinema_name}, {view.hall_name}",
        "seats": compact_seats(view.seat_labels),
        "reference": view.theatre_ticket_id or "",
    }

    def render(values: dict[str, str]) -> str:
        lines = [f"Ticket {view.code}"]
        if values["reference"]:
            lines.append(f"Cinema ref {values['reference']}")
        lines += [
            values["title"],
            format_show_time_short(view.local_start),
            values["place"],
            f"Seats {values['seats']}",
        ]
        return "\n".join(lines)

    # Shortened first to last, each down to the length it keeps.
    shrink_order = (("title", 12), ("place", 16), ("seats", 8), ("title", 4), ("place", 4), ("reference", 8))
    return _fit_sms(render, fields, shrink_order)


def _fit_sms(
    render: Callable[[dict[str, str]], str], fields: dict[str, str], shrink_order: Sequence[tuple[str, int]]
) -> str:
    text = render(fields)
    gsm = is_gsm7(text)
    ellipsis = "..." if gsm else "…"
    budget = _SMS_BUDGET[gsm]
    for name, keep in shrink_order:
        while sms_segments(text) > SMS_MAX_SEGMENTS and len(fields[name]) > keep:
            overflow = max(1, sms_length(text) - budget)
            fields[name] = shorten(fields[name], max(keep, len(fields[name]) - overflow), ellipsis)
            text = render(fields)
    while sms_segments(text) > SMS_MAX_SEGMENTS:  # only when even the short fields are too long
        text = text[:-1]
    return text


def shorten(text: str, length: int, ellipsis: str) -> str:
    """`text` cut to at most `length` characters, `ellipsis` included, when it is longer."""
    if len(text) <= length:
        return text
    return text[: max(0, length - len(ellipsis))].rstrip() + ellipsis

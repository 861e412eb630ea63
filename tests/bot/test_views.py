"""The screens as pure functions: what they say, and keyboards Telegram will accept."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from telegram import InlineKeyboardMarkup

from booking_core.bookings.customers import CustomerRecord
from booking_core.bookings.errors import CancelRefusal, CheckoutRefusal
from booking_core.bookings.service import BookedTicket
from booking_core.catalogue.views import (
    CinemaInfo,
    CinemaSchedule,
    CityInfo,
    MovieInfo,
    SeatPrice,
    ShowDay,
    ShowDetails,
    ShowTime,
)
from booking_core.hall_layout import HallLayout, LayoutRow, LayoutSeat
from booking_core.holds.errors import HoldRefusalReason
from booking_core.models import BookingStatus
from booking_core.tickets.content import TicketView
from bot.codec import Action, decode, encode
from bot.views import catalogue, checkout, contacts, help, notices, tickets
from bot.views.format import countdown, day_label, language_label, runtime_label
from bot.views.hold_refusals import hold_refusal
from bot.views.screen import MAX_BUTTONS, MAX_BUTTONS_PER_ROW, Screen

NOW = datetime(2026, 3, 13, 17, 0, tzinfo=UTC)  # a Friday, 18:00 in Berlin
BERLIN = "Europe/Berlin"
CITY = CityInfo(3, "Berlin", 52.52, 13.4, BERLIN)
MOVIE = MovieInfo(7, "Neonhafen", 104, "16+", "de", "A customs officer...")


def cinema(cinema_id: int, name: str) -> CinemaInfo:
    return CinemaInfo(cinema_id, name, "Somewhere 1", CITY.id, CITY.name, 52.5, 13.4, BERLIN, "local")


def show_time(show_id: int, starts: datetime, hall: str = "Saal 1") -> ShowTime:
    return ShowTime(show_id, 1, hall, starts, BERLIN, "EUR", (SeatPrice("standard", 1290),))


def details(show_id: int = 11) -> ShowDetails:
    return ShowDetails(
        show_id=show_id,
        movie=MOVIE,
        cinema=cinema(1, "Marquee Spreeufer"),
        hall_id=1,
        hall_name="Saal 1",
        starts_at=NOW + timedelta(hours=2),
        currency="EUR",
        prices=(SeatPrice("premium", 1690), SeatPrice("standard", 1290)),
        on_sale=True,
    )


LAYOUT = HallLayout(
    1,
    "Saal 1",
    (
        LayoutRow(0, "A", (LayoutSeat(101, "A1", 1, 1, "standard"), LayoutSeat(102, "A2", 2, 2, "standard"))),
        LayoutRow(1, "B", (LayoutSeat(201, "B1", 1, 1, "premium"), LayoutSeat(202, "B2", 2, 2, "premium"))),
    ),
)


def assert_telegram_accepts(screen: Screen) -> None:
    """Every button decodes, and the keyboard is within Telegram's limits."""
    markup = screen.keyboard
    if markup is None:
        return
    assert isinstance(markup, InlineKeyboardMarkup)
    rows = markup.inline_keyboard
    assert sum(len(row) for row in rows) <= MAX_BUTTONS
    for row in rows:
        assert 0 < len(row) <= MAX_BUTTONS_PER_ROW
        for button in row:
            assert button.url or decode(button.callback_data) is not None, button  # type: ignore[arg-type]
    assert len(screen.text) <= (1024 if screen.photo is not None else 4096)


def test_formats() -> None:
    today = date(2026, 3, 13)
    assert day_label(today, today) == "Today, Fri 13 Mar"
    assert day_label(today + timedelta(days=1), today) == "Tomorrow, Sat 14 Mar"
    assert day_label(today + timedelta(days=2), today) == "Sun 15 Mar"
    assert runtime_label(104) == "1h 44m" and runtime_label(45) == "45m"
    assert language_label("de") == "German" and language_label("xx") == "XX"
    assert countdown(NOW + timedelta(seconds=241), NOW) == "5 min"
    assert countdown(NOW + timedelta(seconds=30), NOW) == "less than a minute"


def test_movies_show_runtime_age_rating_and_language() -> None:
    screen = catalogue.movies_screen(CITY, [MOVIE])
    assert "Neonhafen" in screen.text and "1h 44m · 16+ · German" in screen.text
    assert encode(Action.MOVIE, CITY.id, MOVIE.id) in str(screen.keyboard)
    assert_telegram_accepts(screen)


def test_shows_are_grouped_by_day_and_cinema_with_free_seats_and_paged_by_day() -> None:
    friday, saturday = NOW + timedelta(hours=2), NOW + timedelta(days=1, hours=1)
    schedules = (
        CinemaSchedule(
            cinema(1, "Marquee Spreeufer"),
            (
                ShowDay(date(2026, 3, 13), (show_time(1, friday), show_time(2, friday + timedelta(hours=3)))),
                ShowDay(date(2026, 3, 14), (show_time(3, saturday),)),
            ),
        ),
        CinemaSchedule(
            cinema(2, "Lichtspiele"), (ShowDay(date(2026, 3, 13), (show_time(4, friday, "Kino 2"),)),)
        ),
    )
    day = catalogue.pick_day(schedules, None)
    assert day is not None and day.day == date(2026, 3, 13) and day.next_day == date(2026, 3, 14)
    screen = catalogue.shows_screen(CITY.id, MOVIE, day, {1: 42, 2: 0, 4: None}, date(2026, 3, 13))
    text = screen.text
    assert "Today, Fri 13 Mar" in text
    assert text.index("Marquee Spreeufer") < text.index("20:00") < text.index("Lichtspiele")
    assert "20:00  Saal 1 · 42 free" in text and "23:00  Saal 1 · sold out" in text
    data = [b.callback_data for row in screen.keyboard.inline_keyboard for b in row]  # type: ignore[union-attr]
    assert encode(Action.SHOW, 1, 0) in data and encode(Action.SHOW, 4, 0) in data
    assert encode(Action.SHOWS_DAY, CITY.id, MOVIE.id, 20260314) in data
    assert_telegram_accepts(screen)
    # A day that has no shows any more falls back to the first day that has
    stale = catalogue.pick_day(schedules, date(2026, 3, 20))
    assert stale is not None and stale.day == date(2026, 3, 13)
    assert catalogue.day_from_code(20260230) is None


def test_a_premiere_not_on_sale_yet_says_when_and_offers_its_queue() -> None:
    evening = NOW + timedelta(hours=4)
    opens = NOW + timedelta(hours=1)
    queued = replace(show_time(1, evening), on_sale_at=opens, sale_queue=True)
    plain = replace(show_time(2, evening + timedelta(hours=1)), on_sale_at=opens)
    schedules = (
        CinemaSchedule(cinema(1, "Marquee Spreeufer"), (ShowDay(date(2026, 3, 13), (queued, plain)),)),
    )
    day = catalogue.pick_day(schedules, None)
    assert day is not None
    screen = catalogue.shows_screen(CITY.id, MOVIE, day, {1: 40, 2: 40}, date(2026, 3, 13), None, NOW)
    opens_local = opens.astimezone(ZoneInfo(BERLIN))
    assert f"Saal 1 · on sale at {opens_local:%H:%M}" in screen.text
    buttons = {b.text: b.callback_data for row in screen.keyboard.inline_keyboard for b in row}  # type: ignore[union-attr]
    assert buttons[f"🎟 {queued.local_starts_at:%H:%M} · Join the queue"] == encode(Action.QUEUE_JOIN, 1, 0)
    assert buttons[f"{plain.local_starts_at:%H:%M} · on sale {opens_local:%H:%M}"] == encode(
        Action.SHOW, 2, 0
    )
    # Once on sale, the times are plain times again.
    later = catalogue.shows_screen(CITY.id, MOVIE, day, {1: 40, 2: 40}, date(2026, 3, 13), None, opens)
    assert "on sale at" not in later.text
    assert_telegram_accepts(screen)


def test_a_big_day_still_fits_one_keyboard() -> None:
    shows = tuple(show_time(n, NOW + timedelta(minutes=n)) for n in range(1, 200))
    schedules = (CinemaSchedule(cinema(1, "Huge"), (ShowDay(date(2026, 3, 13), shows),)),)
    day = catalogue.pick_day(schedules, None)
    assert day is not None
    screen = catalogue.shows_screen(CITY.id, MOVIE, day, {}, date(2026, 3, 13))
    assert_telegram_accepts(screen)
    assert f"…and {199 - catalogue.MAX_SHOWS_PER_DAY} later shows this day." in screen.text


def test_checkout_summary() -> None:
    seats = checkout.seat_lines(LAYOUT, details(), [101, 102, 201])
    customer = CustomerRecord(1, 5, 5, "Ada", "+4915100000000", None)
    screen = checkout.checkout_screen(
        88,
        details(),
        seats,
        4270,
        "EUR",
        NOW + timedelta(minutes=5),
        NOW,
        "https://pay.example/cs_1",
        customer,
    )
    for expected in (
        "Neonhafen",
        "Marquee Spreeufer, Saal 1",
        "Friday 13 March 2026, 20:00",
        "A1, A2 (standard · 12.90 EUR each)",
        "B1 (premium · 16.90 EUR each)",
        "Total: <b>42.70 EUR</b>",
        "held until 18:05 (5 min left)",
        "SMS to +4915100000000",
    ):
        assert expected in screen.text, (expected, screen.text)
    buttons = [b for row in screen.keyboard.inline_keyboard for b in row]  # type: ignore[union-attr]
    assert buttons[0].url == "https://pay.example/cs_1" and buttons[0].text == "💳 Pay 42.70 EUR"
    assert encode(Action.CANCEL_CONFIRMED, 88) in [b.callback_data for b in buttons]
    assert_telegram_accepts(screen)


@pytest.mark.parametrize("reason", list(CheckoutRefusal))
def test_every_checkout_refusal_has_words_and_a_way_on(reason: CheckoutRefusal) -> None:
    screen = checkout.refused_screen(reason, details(), 11)
    assert screen.text and screen.keyboard is not None
    assert_telegram_accepts(screen)


def test_a_price_changed_at_the_cinema_is_told_with_the_new_price_before_any_payment() -> None:
    screen = checkout.refused_screen(CheckoutRefusal.PRICE_CHANGED, details(), 11, cinema_price="27.00 EUR")
    assert "changed the price of these seats to 27.00 EUR" in screen.text
    assert "nothing was charged" in screen.text
    assert_telegram_accepts(screen)


def test_contacts_screen_offers_what_is_missing_and_back_to_payment() -> None:
    empty = contacts.contacts_screen(CustomerRecord(1, 5, 5, "Ada", None, None), 11)
    assert "Phone: not set" in empty.text and "Email: not set" in empty.text
    data = str(empty.keyboard)
    assert encode(Action.PHONE_CLEAR, 11) not in data and encode(Action.CHECKOUT, 11) in data
    full = contacts.contacts_screen(CustomerRecord(1, 5, 5, "Ada", "+4915100000000", "ada@example.com"), 0)
    assert "+4915100000000" in full.text and encode(Action.EMAIL_CLEAR, 0) in str(full.keyboard)
    assert encode(Action.HELP) in str(full.keyboard)


def booked(status: BookingStatus, starts: datetime, booking_id: int = 1) -> BookedTicket:
    seats = ("A1", "A2")
    confirmed = status == BookingStatus.CONFIRMED
    view = TicketView(
        "ABCD-EFGH-J2K", MOVIE.title, "Marquee", "Street 1", "Saal 1", seats, starts, BERLIN, 104, 2580, "EUR"
    )
    return BookedTicket(
        booking_id=booking_id,
        status=status,
        status_reason=None,
        show_id=11,
        movie_title=MOVIE.title,
        cinema_name="Marquee",
        cinema_address="Street 1",
        hall_name="Saal 1",
        timezone=BERLIN,
        starts_at=starts,
        seat_labels=seats,
        amount_minor=2580,
        currency="EUR",
        code="ABCD-EFGH-J2K",
        can_cancel=confirmed,
        view=view if confirmed else None,
    )


def test_tickets_list_and_one_ticket() -> None:
    upcoming = [booked(BookingStatus.CONFIRMED, NOW + timedelta(days=1), 1)]
    past = [booked(BookingStatus.REFUNDED, NOW - timedelta(days=3), 2)]
    listing = tickets.tickets_screen(upcoming, past, NOW)
    assert "Upcoming" in listing.text and "Past" in listing.text and "refunded" in listing.text
    assert encode(Action.TICKET, 1) in str(listing.keyboard)
    assert_telegram_accepts(listing)
    one = tickets.ticket_screen(upcoming[0], b"png", NOW)
    assert one.photo == b"png" and "ABCD-EFGH-J2K" in one.text
    assert encode(Action.CANCEL_BOOKING, 1) in str(one.keyboard)
    assert_telegram_accepts(one)
    refunded = tickets.ticket_screen(past[0], None, NOW)
    assert refunded.photo is None and "refunded" in refunded.text
    assert tickets.tickets_screen([], [], NOW).text == "🎟 You have no tickets yet."


def test_every_refusal_of_a_cancellation_or_a_hold_has_its_own_words() -> None:
    # Given every reason the core can give, today's and any it adds (a missing one raises or falls through)
    cancel_texts = {reason: tickets.cancel_refused_text(reason, 30) for reason in CancelRefusal}
    hold_texts = {reason: hold_refusal(reason, ("A1",), max_seats=10) for reason in HoldRefusalReason}
    # Then each fits an alert, and no two reasons share one generic text
    for texts in (cancel_texts, hold_texts):
        assert all(20 < len(text) <= 200 for text in texts.values()), texts
        assert len(set(texts.values())) == len(texts), texts
    assert "temporarily unavailable" in cancel_texts[CancelRefusal.THEATRE_UNAVAILABLE]
    assert "temporarily unavailable" in hold_texts[HoldRefusalReason.THEATRE_UNAVAILABLE]
    assert "hall" not in hold_texts[HoldRefusalReason.THEATRE_UNAVAILABLE]


def test_notices_name_the_show_and_the_seats() -> None:
    offer = notices.offer_made(details(), 11, ["A1", "A2"], 2, NOW + timedelta(minutes=2), NOW)
    assert "Seats A1, A2 are held for you until 18:02 (2 min left)" in offer.text
    assert encode(Action.OFFER_ACCEPT, 11) in str(offer.keyboard)
    expired = notices.hold_expired(
        details(),
        11,
        ["B1"],
        1,
    )
    assert "Your seat B1 for <b>Neonhafen</b>, Fri 13 Mar 20:00" in expired.text
    soon = notices.hold_expiring(details(), 11, ["B1"], 1, NOW + timedelta(seconds=59), NOW, is_offer=False)
    assert soon.text.startswith("⏳ <b>Less than a minute left</b>") and encode(Action.CHECKOUT, 11) in str(
        soon.keyboard
    )
    refund = notices.refund_started(
        booked(BookingStatus.REFUND_PENDING, NOW + timedelta(days=1)), "seats gone"
    )
    assert "25.80 EUR will be refunded" in refund.text and "seats gone" in refund.text
    for screen in (
        offer,
        expired,
        soon,
        refund,
        notices.booking_confirmed(None),
        notices.offer_expired(None, 11),
    ):
        assert_telegram_accepts(screen)


def test_help_lists_the_commands() -> None:
    screen = help.help_screen(5)
    for command in help.COMMANDS:
        assert f"/{command.command}" in screen.text
    assert "held for 5 minutes" in screen.text
    assert_telegram_accepts(screen)

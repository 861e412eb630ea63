"""What the ticket says on each channel: SMS segments and text, Telegram caption, money and time."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking_core.tickets.content import compact_seats, format_money, qr_png, sms_text
from booking_core.tickets.sms_encoding import sms_encoding, sms_segments
from bot.views.screen import MAX_CAPTION
from bot.views.tickets import telegram_caption
from sandbox.twilio_api import message_segments
from tests.delivery.conftest import make_view


@pytest.mark.parametrize("count", [sms_segments, message_segments], ids=["core", "twilio stand-in"])
@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters count two septets
        ("€" * 81, 2),
        ("a" * 152 + "€" + "a" * 10, 2),  # 164 septets; € does not fit the first part's last septet
        ("a" * 152 + "€" + "a" * 152, 3),  # 306 septets, but the escape pair is never split
        ("Ж" * 70, 1),
        ("Ж" * 71, 2),
        ("Ж" * 134, 2),
        ("Ж" * 135, 3),
        ("a" * 69 + "’", 1),  # one curly quote makes it UCS-2
        ("a" * 70 + "’", 2),
        ("😀" * 35, 1),  # an emoji is two UTF-16 units
        ("😀" * 36, 2),
        ("😀" * 67, 3),  # 33 per part: a surrogate pair is never split
    ],
)
def test_segments_follow_gsm7_and_ucs2_rules(count: Callable[[str], int], text: str, segments: int) -> None:
    assert count(text) == segments


@pytest.mark.parametrize("pattern", ["a", "a€", "a^{ ", "Ж", "aЖ", "a😀", "😀Ж’"])
def test_the_twilio_stand_in_counts_segments_as_the_core_does_at_every_length(pattern: str) -> None:
    for length in range(500):
        text = (pattern * length)[:length]
        assert message_segments(text) == sms_segments(text), text


@given(st.text(max_size=200))
def test_the_twilio_stand_in_knows_the_same_alphabet_as_the_core(text: str) -> None:
    assert message_segments(text) == sms_segments(text)


def test_sms_for_a_latin_title_is_one_gsm7_segment_with_everything_needed_at_the_door() -> None:
    view = make_view(seat_labels=("F7", "F8", "F9", "G2"))

    text = sms_text(view)

    assert sms_encoding(text) == "GSM-7"
    assert sms_segments(text) == 1
    assert view.code in text
    assert "Dune: Part Two" in text
    assert "Sat 14 Jun 19:30" in text  # 17:30 UTC on the cinema's Berlin clock
    assert "Kino International, Saal 1" in text
    assert "Seats F7-F9, G2" in text


@pytest.mark.parametrize(
    "title",
    [
        "Мастер и Маргарита: режиссёрская версия с эпилогом и фильмом о съёмках",
        "🎬🍿 Барби 🎀💖 — специальный показ с субтитрами и викториной 🎉🎉🎉",
    ],
)
def test_sms_for_a_non_latin_title_still_fits_two_segments(title: str) -> None:
    view = make_view(movie_title=title, cinema_name="Кинотеатр «Октябрь»", hall_name="Зал 3")

    text = sms_text(view)

    assert sms_encoding(text) == "UCS-2"
    assert sms_segments(text) <= 2
    assert view.code in text
    assert "Sat 14 Jun 19:30" in text
    assert "Seats F7-F9" in text
    assert "Кинотеатр «Октябрь», Зал 3" in text
    # The title was shortened, not dropped
    assert title[:10] in text and title not in text and "…" in text


def test_a_long_latin_title_is_shortened_without_leaving_gsm7() -> None:
    view = make_view(movie_title="The Lord of the Rings: The Return of the King (Extended Edition) " * 4)

    text = sms_text(view)

    assert sms_encoding(text) == "GSM-7"
    assert sms_segments(text) <= 2
    assert "The Lord of the Rings" in text and "..." in text


@settings(max_examples=150, deadline=None)
@given(
    title=st.text(min_size=1, max_size=300),
    cinema=st.text(min_size=1, max_size=200),
    seats=st.lists(st.from_regex(r"[A-Z]{1,2}[0-9]{1,3}", fullmatch=True), min_size=1, max_size=50),
    reference=st.none() | st.text(min_size=1, max_size=100),
)
def test_any_ticket_sms_fits_two_segments_and_keeps_the_code_and_time(
    title: str, cinema: str, seats: list[str], reference: str | None
) -> None:
    view = make_view(
        movie_title=title, cinema_name=cinema, seat_labels=tuple(seats), theatre_ticket_id=reference
    )

    text = sms_text(view)

    assert sms_segments(text) <= 2
    assert text.startswith(f"Ticket {view.code}\n")
    assert "Sat 14 Jun 19:30" in text


def test_seat_runs_are_compacted_only_from_three_neighbours() -> None:
    assert (
        compact_seats(["A1", "A2", "A3", "A4", "B7", "B8", "C1", "C3", "box"]) == "A1-A4, B7, B8, C1, C3, box"
    )
    assert compact_seats(["A9", "A10", "A11"]) == "A9-A11"
    assert compact_seats(["A1", "B2", "C3"]) == "A1, B2, C3"


def test_telegram_caption_escapes_html_and_respects_the_limit() -> None:
    view = make_view(movie_title="<Tom & Jerry> " * 200, theatre_ticket_id="TH-42")

    caption = telegram_caption(view)

    assert len(caption) <= MAX_CAPTION
    assert "&lt;Tom &amp; Jerry&gt;" in caption and "<Tom" not in caption
    assert f"<code>{view.code}</code>" in caption
    assert "TH-42" in caption and "37.50 EUR" in caption and "Saturday 14 June 2025, 19:30" in caption


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (3750, "EUR", "37.50 EUR"),
        (5, "usd", "0.05 USD"),
        (123456789, "GBP", "1,234,567.89 GBP"),
        (1500, "JPY", "1,500 JPY"),
        (12345, "KWD", "12.345 KWD"),
        (-250, "EUR", "-2.50 EUR"),
    ],
)
def test_money_is_shown_from_minor_units(amount: int, currency: str, shown: str) -> None:
    assert format_money(amount, currency) == shown


def test_qr_code_is_a_png() -> None:
    png = qr_png("7KQ2-M9XF-4TB")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png != qr_png("7KQ2-M9XF-4TC")


def test_a_naive_show_time_is_refused() -> None:
    from datetime import datetime

    with pytest.raises(ValueError, match="timezone-aware"):
        make_view(starts_at=datetime(2025, 6, 14, 17, 30))

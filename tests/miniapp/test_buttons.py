"""Where the bot offers the Mini App: a 🗺 web_app button on the seat map and the show list, only where
Telegram can open it, and never past Telegram's 100 buttons."""

from __future__ import annotations

from datetime import date

import pytest

from booking_core.catalogue.views import CinemaSchedule, ShowDay
from booking_core.holds.seat_map import SeatState
from bot.views import catalogue
from bot.views.seat_keyboard import plan_blocks
from bot.views.seat_map import WHOLE_HALL, SeatMapView, WaitlistButton, seat_map_keyboard
from roles.settings import load_settings
from tests.bot.test_views import CITY, MOVIE, NOW, cinema, show_time
from tests.bot_seats import screens
from tests.bot_seats.halls import DEMO_HALLS, demo_hall
from tests.bot_seats.screens import SHOW_ID, all_seats, details, hold, seat_map

MINIAPP = "https://tickets.example/app"


@pytest.mark.parametrize("name", DEMO_HALLS)
def test_every_block_of_the_seat_map_opens_the_whole_hall_within_100_buttons(name: str) -> None:
    layout = demo_hall(name)
    plan = plan_blocks(layout)
    seats = all_seats(layout)
    fullest = seat_map(layout, {seats[1]: SeatState.SOLD}, hold(seats[-10:]))
    for block in plan.blocks:
        view = SeatMapView(
            details(),
            plan,
            block,
            fullest,
            screens.NOW,
            max_seats=10,
            waitlist=WaitlistButton.JOIN,
            miniapp_url=MINIAPP,
        )
        buttons = [button for row in seat_map_keyboard(view).inline_keyboard for button in row]
        assert len(buttons) <= 100
        (hall,) = [button for button in buttons if button.web_app is not None]
        assert (hall.text, hall.web_app.url) == (WHOLE_HALL, f"{MINIAPP}/shows/{SHOW_ID}")
        assert any(button.text == "✨1" for button in buttons)


def test_without_a_mini_app_address_the_seat_map_has_no_such_button() -> None:
    layout = demo_hall("studio")
    plan = plan_blocks(layout)
    view = SeatMapView(details(), plan, plan.blocks[0], seat_map(layout), screens.NOW, max_seats=10)
    assert not [b for row in seat_map_keyboard(view).inline_keyboard for b in row if b.web_app is not None]


def test_the_show_list_opens_each_shows_hall() -> None:
    schedules = (
        CinemaSchedule(cinema(1, "Marquee Spreeufer"), (ShowDay(date(2026, 3, 13), (show_time(5, NOW),)),)),
    )
    day = catalogue.pick_day(schedules, None)
    assert day is not None
    screen = catalogue.shows_screen(CITY.id, MOVIE, day, {5: 42}, date(2026, 3, 13), MINIAPP)
    assert screen.keyboard is not None
    halls = [b for row in screen.keyboard.inline_keyboard for b in row if b.web_app is not None]
    assert [(b.text[:2], b.web_app.url) for b in halls if b.web_app] == [("🗺 ", f"{MINIAPP}/shows/5")]
    assert "🗺 to see the whole hall" in screen.text


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"PUBLIC_BASE_URL": "https://tickets.example", "TELEGRAM_BOT_TOKEN": "1:x"},
            "https://tickets.example/app",
        ),
        ({"PUBLIC_BASE_URL": "http://10.0.0.5:8080", "TELEGRAM_BOT_TOKEN": "1:x"}, None),
        ({"PUBLIC_BASE_URL": "http://127.0.0.1:8080"}, "http://127.0.0.1:8080/app"),
        (
            {"MINIAPP_URL": "https://cdn.example/hall/", "TELEGRAM_BOT_TOKEN": "1:x"},
            "https://cdn.example/hall",
        ),
    ],
)
def test_the_button_appears_only_where_telegram_can_open_the_page(
    settings: dict[str, str], expected: str | None
) -> None:
    assert load_settings(**{"TELEGRAM_BOT_TOKEN": None, "MODE": "demo", **settings}).miniapp_url == expected

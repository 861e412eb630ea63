"""The hall picture: a real PNG of a sane size, each seat drawn in its state's colour, the block framed."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from booking_core.holds.seat_map import SeatState
from bot.views import hall_picture
from bot.views.hall_picture import render_hall
from bot.views.seat_keyboard import plan_blocks
from tests.bot_seats.halls import DEMO_HALLS, demo_hall
from tests.bot_seats.screens import all_seats


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGB")


def _rgb(colour: str) -> tuple[int, int, int]:
    value = int(colour.removeprefix("#"), 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def _seat_centre(row_position: int, column: int, first_column: int = 1) -> tuple[int, int]:
    """Where render_hall draws a seat, for a hall at least as wide as its legend."""
    left = hall_picture.MARGIN + hall_picture.CELL + (column - first_column) * hall_picture.CELL
    top = (
        hall_picture.MARGIN
        + hall_picture.SCREEN_HEIGHT
        + hall_picture.CELL // 2
        + row_position * hall_picture.CELL
    )
    return left + hall_picture.CELL // 2, top + hall_picture.CELL // 2


@pytest.mark.parametrize("name", DEMO_HALLS)
def test_every_demo_hall_renders_as_a_png_of_sane_size(name: str) -> None:
    layout = demo_hall(name)
    png = render_hall(layout, dict.fromkeys(all_seats(layout), SeatState.FREE))
    assert png.startswith(b"\x89PNG")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    width, height = image.size
    assert 300 <= width <= 1280 and 200 <= height <= 1280
    assert width / height < 20  # Telegram refuses photos with a more extreme ratio
    assert len(png) < 200_000


def test_seats_are_drawn_in_the_colours_of_their_states() -> None:
    layout = demo_hall("grand")
    row_b = layout.rows[1].seats  # columns 1-4, then 6-15, then 17-20
    states = dict.fromkeys(all_seats(layout), SeatState.FREE)
    states.update({row_b[0].id: SeatState.YOURS, row_b[1].id: SeatState.SOLD, row_b[2].id: SeatState.OFFERED})
    image = _image(render_hall(layout, states))
    yours = image.getpixel((_seat_centre(1, 1)[0] - 8, _seat_centre(1, 1)[1] - 8))
    taken = image.getpixel((_seat_centre(1, 2)[0] - 10, _seat_centre(1, 2)[1]))
    kept = image.getpixel((_seat_centre(1, 3)[0] - 10, _seat_centre(1, 3)[1]))
    free = image.getpixel((_seat_centre(1, 6)[0] - 9, _seat_centre(1, 6)[1] - 9))
    assert yours == _rgb(hall_picture.YOURS_FILL)
    assert taken == _rgb(hall_picture.TAKEN_FILL)
    assert kept == _rgb(hall_picture.KEPT_FILL)
    assert free == _rgb(hall_picture.FREE_FILL)


def test_the_block_on_the_keyboard_is_framed() -> None:
    layout = demo_hall("grand")
    plan = plan_blocks(layout)
    states = dict.fromkeys(all_seats(layout), SeatState.FREE)
    framed = _image(render_hall(layout, states, [seat.id for seat in plan.blocks[1].seats()]))
    plain = _image(render_hall(layout, states))
    frame = _rgb(hall_picture.FRAME)
    assert frame in {colour for _count, colour in framed.getcolors(100_000) or []}
    assert frame not in {colour for _count, colour in plain.getcolors(100_000) or []}


def test_the_same_view_is_rendered_once_and_a_change_draws_anew() -> None:
    layout = demo_hall("salon")
    states = dict.fromkeys(all_seats(layout), SeatState.FREE)
    first = render_hall(layout, states)
    assert render_hall(layout, dict(states)) is first
    states[all_seats(layout)[0]] = SeatState.SOLD
    assert render_hall(layout, states) != first

"""A picture of the whole hall in the seat map's colours (Pillow), as PNG bytes.

The screen is at the top, row 0 nearest to it; rows are labelled on both sides; every seat shows its
number when free and a mark of its state otherwise, so the picture reads without colour too. The block
the keyboard shows is framed. Rendering is pure and cached per (layout, states, frame). What does not
change between pictures of a hall (the screen, the row labels, the legend) is drawn once per layout, and
each seat once per state: a picture is that background with a tile per seat pasted in and the frame.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from booking_core.hall_layout import HallLayout, LayoutSeat
from booking_core.holds.best_seats import WHEELCHAIR
from booking_core.holds.seat_map import SeatState

CELL = 30  # px per column and per row
SEAT = 24  # px, the square of a seat inside its cell
MARGIN = 16
SCREEN_HEIGHT = 34
LEGEND_HEIGHT = 28
CACHED_PICTURES = 64
# Seat squares by (number, category, state): a few hundred small tiles cover every hall.
SEAT_PICTURES = 4096

BACKGROUND = "#f4f4ef"
INK = "#263238"
MUTED = "#78828c"
FREE_FILL, FREE_LINE = "#ffffff", "#5f6b7a"
YOURS_FILL = "#2e7d32"
TAKEN_FILL, TAKEN_MARK = "#b7bec6", "#69737d"
KEPT_FILL = "#ffb300"
WHEELCHAIR_FILL = "#d6e9fb"
PREMIUM_LINE = "#b8901c"
FRAME = "#1565c0"
SCREEN_FILL = "#cfd8dc"

_TAKEN = (SeatState.SOLD, SeatState.HELD)
_Font = ImageFont.ImageFont | ImageFont.FreeTypeFont


def render_hall(layout: HallLayout, states: Mapping[int, SeatState], frame: Collection[int] = ()) -> bytes:
    """The hall as a PNG: every seat in its state's colour, the seats `frame` outlined (the current block)."""
    state_items = tuple(sorted((seat, SeatState(state)) for seat, state in states.items()))
    return _render(layout, state_items, frozenset(frame))


@lru_cache(maxsize=CACHED_PICTURES)
def _render(layout: HallLayout, states: tuple[tuple[int, SeatState], ...], frame: frozenset[int]) -> bytes:
    state_of = dict(states)
    grid = _grid(layout)
    image = _hall_without_seats(layout).copy()
    framed: list[tuple[int, int, int, int]] = []
    for position, row in enumerate(layout.rows):
        for seat in row.seats:
            box = grid.cell_box(position, seat.column)
            state = state_of.get(seat.id, SeatState.SOLD)
            image.paste(_seat_picture(seat.number, seat.category, state), box[:2])
            if seat.id in frame:
                framed.append(box)
    if framed:
        pad = (CELL - SEAT) // 2 + 1
        outline = (
            min(b[0] for b in framed) - pad,
            min(b[1] for b in framed) - pad,
            max(b[2] for b in framed) + pad,
            max(b[3] for b in framed) + pad,
        )
        ImageDraw.Draw(image).rounded_rectangle(outline, radius=8, outline=FRAME, width=3)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


@dataclass(frozen=True)
class _Grid:
    """Where a hall's rows and columns are drawn."""

    left: int
    top: int
    first_column: int
    width: int  # columns
    size: tuple[int, int]  # of the whole picture

    def cell_box(self, row_position: int, column: int) -> tuple[int, int, int, int]:
        """The square of the seat at a row position (0: front) and hall column."""
        left = self.left + (column - self.first_column) * CELL + (CELL - SEAT) // 2
        top = self.top + row_position * CELL + (CELL - SEAT) // 2
        return left, top, left + SEAT, top + SEAT


@lru_cache(maxsize=CACHED_PICTURES)
def _grid(layout: HallLayout) -> _Grid:
    columns = [seat.column for row in layout.rows for seat in row.seats] or [1]
    first_column, width = min(columns), max(columns) - min(columns) + 1
    grid_left = MARGIN + CELL  # a label column on the left
    grid_top = MARGIN + SCREEN_HEIGHT + CELL // 2
    grid_width = grid_left + (width + 1) * CELL + MARGIN
    size = (
        max(grid_width, 2 * MARGIN + _legend_width(_legend_entries(layout), _small_font())),
        grid_top + len(layout.rows) * CELL + LEGEND_HEIGHT + MARGIN,
    )
    # A hall narrower than its legend is centred.
    grid_left += (size[0] - grid_width) // 2
    return _Grid(grid_left, grid_top, first_column, width, size)


@lru_cache(maxsize=CACHED_PICTURES)
def _hall_without_seats(layout: HallLayout) -> Image.Image:
    """The screen, the row labels and the legend: what every picture of the hall has."""
    grid = _grid(layout)
    image = Image.new("RGB", grid.size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    label_font = ImageFont.load_default(14)
    right = grid.left + grid.width * CELL
    _draw_screen(draw, grid.left, right, label_font)
    for position, row in enumerate(layout.rows):
        middle = grid.top + position * CELL + CELL // 2
        for label_x in (grid.left - CELL // 2, right + CELL // 2):
            draw.text((label_x, middle), row.label, fill=MUTED, font=label_font, anchor="mm")
    _draw_legend(
        draw, _legend_entries(layout), MARGIN, grid.size[1] - MARGIN - LEGEND_HEIGHT // 2, _small_font()
    )
    return image


@lru_cache(maxsize=SEAT_PICTURES)
def _seat_picture(number: int, category: str, state: SeatState) -> Image.Image:
    """A seat in its state, on the background, as pasted into the hall (a seat's number, category and
    state are all its square shows, so each such square is drawn once)."""
    tile = Image.new("RGB", (SEAT + 1, SEAT + 1), BACKGROUND)
    seat = LayoutSeat(0, "", number, 0, category)
    _draw_seat(ImageDraw.Draw(tile), (0, 0, SEAT, SEAT), seat, state, _small_font())
    return tile


@lru_cache(maxsize=1)
def _small_font() -> _Font:
    return ImageFont.load_default(12)


def _draw_screen(draw: ImageDraw.ImageDraw, left: int, right: int, font: _Font) -> None:
    draw.polygon(
        [(left, MARGIN), (right, MARGIN), (right - CELL // 2, MARGIN + 14), (left + CELL // 2, MARGIN + 14)],
        fill=SCREEN_FILL,
    )
    draw.text(((left + right) // 2, MARGIN + 24), "SCREEN", fill=MUTED, font=font, anchor="mm")


def _draw_seat(
    draw: ImageDraw.ImageDraw,
    box: tuple[int, int, int, int],
    seat: LayoutSeat,
    state: SeatState,
    font: _Font,
) -> None:
    left, top, right, bottom = box
    centre = ((left + right) // 2, (top + bottom) // 2)
    if state == SeatState.YOURS:
        draw.rounded_rectangle(box, radius=5, fill=YOURS_FILL)
        draw.line(
            [(left + 6, centre[1]), (centre[0] - 1, bottom - 6), (right - 5, top + 6)], fill="white", width=3
        )
    elif state in _TAKEN:
        draw.rounded_rectangle(box, radius=5, fill=TAKEN_FILL)
        draw.line([(left + 7, top + 7), (right - 7, bottom - 7)], fill=TAKEN_MARK, width=3)
        draw.line([(left + 7, bottom - 7), (right - 7, top + 7)], fill=TAKEN_MARK, width=3)
    elif state == SeatState.OFFERED:
        draw.rounded_rectangle(box, radius=5, fill=KEPT_FILL)
        # An hourglass: kept for someone on the waitlist.
        draw.polygon(
            [(left + 7, top + 6), (right - 7, top + 6), (left + 7, bottom - 6), (right - 7, bottom - 6)],
            fill=INK,
        )
    else:
        _draw_free(draw, box, seat)
        draw.text(centre, str(seat.number), fill=INK, font=font, anchor="mm")


def _draw_free(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], seat: LayoutSeat) -> None:
    fill = WHEELCHAIR_FILL if seat.category == WHEELCHAIR else FREE_FILL
    line, width = (PREMIUM_LINE, 3) if seat.category == "premium" else (FREE_LINE, 1)
    draw.rounded_rectangle(box, radius=5, fill=fill, outline=line, width=width)


def _legend_entries(layout: HallLayout) -> list[tuple[str, LayoutSeat, SeatState]]:
    sample = LayoutSeat(0, "", 0, 0, "standard")
    entries = [
        ("free", sample, SeatState.FREE),
        ("yours", sample, SeatState.YOURS),
        ("taken", sample, SeatState.SOLD),
        ("waitlist", sample, SeatState.OFFERED),
    ]
    for category in ("premium", WHEELCHAIR):
        if category in layout.categories:
            entries.append((category, LayoutSeat(0, "", 0, 0, category), SeatState.FREE))
    return entries


def _legend_width(entries: list[tuple[str, LayoutSeat, SeatState]], font: _Font) -> int:
    return sum(SEAT + 6 + int(font.getlength(name)) + 14 for name, _seat, _state in entries)


def _draw_legend(
    draw: ImageDraw.ImageDraw,
    entries: list[tuple[str, LayoutSeat, SeatState]],
    left: int,
    middle: int,
    font: _Font,
) -> None:
    x = left
    for name, seat, state in entries:
        box = (x, middle - SEAT // 2, x + SEAT, middle + SEAT // 2)
        if state == SeatState.FREE:
            _draw_free(draw, box, seat)
        else:
            _draw_seat(draw, box, seat, state, font)
        draw.text((x + SEAT + 6, middle), name, fill=INK, font=font, anchor="lm")
        x += SEAT + 6 + int(font.getlength(name)) + 14

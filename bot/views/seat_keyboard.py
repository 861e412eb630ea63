"""The seat map as inline-keyboard blocks: pure functions over a hall layout and a seat map.

Telegram allows 8 buttons in a keyboard row and 100 in a keyboard, so a hall is cut into blocks: first
at its aisles (columns no row has a seat in), then each section into even chunks of at most 7 seats
(the row label takes the 8th button), then, if a block would still need too many buttons, into bands of
rows. Blocks are numbered from 1, front band first, left to right; `HOME_BLOCK` (0) in callback data asks
for a good first block (see `home_block`). The same button (text and data) is made once and used in
every keyboard that shows it: python-telegram-bot's buttons are frozen, and a seat map has up to 100.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from telegram import InlineKeyboardButton

from booking_core.hall_layout import HallLayout, LayoutRow, LayoutSeat
from booking_core.holds.best_seats import WHEELCHAIR
from booking_core.holds.seat_map import SeatState
from bot.codec import Action, encode
from bot.views.screen import MAX_BUTTONS, MAX_BUTTONS_PER_ROW

MAX_ROW_BUTTONS = MAX_BUTTONS_PER_ROW
MAX_KEYBOARD_BUTTONS = MAX_BUTTONS
MAX_BLOCK_SEATS = MAX_ROW_BUTTONS - 1  # one button of every seat row is its row label
# Buttons every map needs besides the seats: the screen (1), navigation (3), two actions (2) and at
# least four best-seat buttons.
RESERVED_BUTTONS = 10
SEAT_BUTTON_BUDGET = MAX_KEYBOARD_BUTTONS - RESERVED_BUTTONS
MIN_BEST_BUTTONS = 4
HOME_BLOCK = 0

BLANK = "·"  # a place in the grid with no seat, or no block to go to
TAKEN = "✖"
YOURS = "✅"
KEPT = "⏳"
WHEELCHAIR_MARK = "♿"
SCREEN = "🎬 screen this way 🎬"

_TAKEN_STATES = (SeatState.SOLD, SeatState.HELD)
SOLD = SeatState.SOLD  # what a seat the seat map does not name shows as
# Shows whose buttons a block keeps (a block belongs to one hall plan, which a few shows may share).
GRIDS_KEPT = 64
# Distinct buttons kept (a seat has a handful: its number and a mark per state, per block showing it).
BUTTONS_KEPT = 65_536


@lru_cache(maxsize=BUTTONS_KEPT)
def button(text: str, data: str) -> InlineKeyboardButton:
    """The button with this text and callback data."""
    return InlineKeyboardButton(text, callback_data=data)


@dataclass(frozen=True)
class Block:
    """A rectangle of the hall shown as one keyboard: some adjacent columns of some adjacent rows."""

    number: int  # 1-based
    columns: tuple[int, ...]  # hall columns, left to right, no aisle among them
    rows: tuple[LayoutRow, ...]  # front first

    def seats(self) -> tuple[LayoutSeat, ...]:
        """The block's seats, row by row, left to right."""
        return self._seats

    @cached_property
    def _seats(self) -> tuple[LayoutSeat, ...]:
        return tuple(seat for row in self.rows for seat in row.seats if seat.column in self.columns)

    def grid(self, show_id: int, *, closed: bool = False) -> tuple[tuple[_Place, ...], ...]:
        """The block's buttons at `show_id` for each state of each place, row by row (made once)."""
        grids = self._grids
        grid = grids.get((show_id, closed))
        if grid is None:
            if len(grids) >= GRIDS_KEPT:
                grids.clear()
            grid = grids[show_id, closed] = _grid(show_id, self, closed)
        return grid

    @cached_property
    def _grids(self) -> dict[tuple[int, bool], tuple[tuple[_Place, ...], ...]]:
        return {}

    @property
    def seat_buttons(self) -> int:
        """Buttons its seat rows take, row labels included."""
        return len(self.rows) * (len(self.columns) + 1)


@dataclass(frozen=True)
class BlockPlan:
    """A hall cut into blocks."""

    layout: HallLayout
    blocks: tuple[Block, ...]

    def block(self, number: int) -> Block:
        """Block `number`, or the nearest existing one when it is out of range (a layout changed)."""
        return self.blocks[min(max(number, 1), len(self.blocks)) - 1]

    @cached_property
    def _block_of_seat(self) -> dict[int, Block]:
        return {seat.id: block for block in self.blocks for seat in block.seats()}

    def block_of(self, seat_id: int) -> Block | None:
        """The block showing `seat_id`."""
        return self._block_of_seat.get(seat_id)

    @cached_property
    def _seats(self) -> dict[int, LayoutSeat]:
        return {seat.id: seat for row in self.layout.rows for seat in row.seats}

    def seat(self, seat_id: int) -> LayoutSeat | None:
        """The hall's seat `seat_id`."""
        return self._seats.get(seat_id)

    def rows_of(self, category: str) -> str | None:
        """Where a category's seats are, e.g. "rows M–O", when they fill a few runs of rows."""
        return self._rows_of_category.get(category)

    @cached_property
    def _rows_of_category(self) -> dict[str, str | None]:
        return {category: _rows_of(self.layout, category) for category in self.layout.categories}

    @property
    def best_counts(self) -> tuple[int, ...]:
        """The seat counts of the best-seat buttons: as many as fit in every block's keyboard, up to 8."""
        widest = max((block.seat_buttons for block in self.blocks), default=0)
        room = MAX_KEYBOARD_BUTTONS - (RESERVED_BUTTONS - MIN_BEST_BUTTONS) - widest
        return tuple(range(1, min(room, MAX_ROW_BUTTONS) + 1))


def _rows_of(layout: HallLayout, category: str) -> str | None:
    """Where a category's seats are, e.g. "rows M–O", when they fill a few runs of rows."""
    labels = [row.label for row in layout.rows if any(seat.category == category for seat in row.seats)]
    positions = [i for i, row in enumerate(layout.rows) if row.label in labels]
    runs: list[list[int]] = []
    for position in positions:
        if runs and position == runs[-1][-1] + 1:
            runs[-1].append(position)
        else:
            runs.append([position])
    if not runs or len(runs) > 2:
        return None
    spans = [
        layout.rows[run[0]].label
        if len(run) == 1
        else f"{layout.rows[run[0]].label}–{layout.rows[run[-1]].label}"
        for run in runs
    ]
    return ("row " if len(positions) == 1 else "rows ") + ", ".join(spans)


def _sections(columns: Sequence[int]) -> list[list[int]]:
    """Runs of adjacent occupied columns; an aisle (a column no seat uses) separates two runs."""
    sections: list[list[int]] = []
    for column in sorted(set(columns)):
        if sections and column == sections[-1][-1] + 1:
            sections[-1].append(column)
        else:
            sections.append([column])
    return sections


def _even_parts(items: Sequence[object], parts: int) -> list[range]:
    """Index ranges cutting `items` into `parts` pieces whose sizes differ by at most one."""
    size, extra = divmod(len(items), parts)
    bounds, start = [], 0
    for part in range(parts):
        end = start + size + (1 if part < extra else 0)
        bounds.append(range(start, end))
        start = end
    return bounds


def plan_blocks(layout: HallLayout) -> BlockPlan:
    """Cut a hall into blocks of at most 7 seats wide, aisles as borders, each within the button budget."""
    sections = _sections([seat.column for row in layout.rows for seat in row.seats])
    chunks: list[tuple[int, ...]] = []
    for section in sections:
        for part in _even_parts(section, math.ceil(len(section) / MAX_BLOCK_SEATS)):
            chunks.append(tuple(section[index] for index in part))
    widest = max((len(chunk) for chunk in chunks), default=1)
    rows_per_band = max(1, SEAT_BUTTON_BUDGET // (widest + 1))
    bands = [
        tuple(layout.rows[index] for index in part)
        for part in _even_parts(layout.rows, max(1, math.ceil(len(layout.rows) / rows_per_band)))
    ]
    blocks: list[Block] = []
    for band in bands:
        for chunk in chunks:
            candidate = Block(len(blocks) + 1, chunk, band)
            if candidate.seats():  # an irregular hall may leave a rectangle empty
                blocks.append(candidate)
    return BlockPlan(layout, tuple(blocks))


def home_block(plan: BlockPlan, preferred_seats: Sequence[int]) -> Block:
    """Where a map opens: the block of the first preferred seat (yours, or the best free), else the middle."""
    for seat_id in preferred_seats:
        block = plan.block_of(seat_id)
        if block is not None:
            return block
    return plan.blocks[(len(plan.blocks) - 1) // 2]


def seat_text(seat: LayoutSeat, state: SeatState) -> str:
    """What a seat's button shows: its number when free, else a mark of its state."""
    if state == SeatState.YOURS:
        return YOURS
    if state in _TAKEN_STATES:
        return TAKEN
    if state == SeatState.OFFERED:
        return KEPT
    return f"{WHEELCHAIR_MARK}{seat.number}" if seat.category == WHEELCHAIR else str(seat.number)


def seat_rows(
    show_id: int, block: Block, states: Mapping[int, SeatState], *, closed: bool = False
) -> list[list[InlineKeyboardButton]]:
    """The block's rows of buttons: the row label, then a button per column (a mark where no seat is)."""
    return [
        [
            place.button if place.seat_id is None else place.by_state[states.get(place.seat_id, SOLD)]
            for place in row
        ]
        for row in block.grid(show_id, closed=closed)
    ]


@dataclass(frozen=True)
class _Place:
    """A button of a block's grid: fixed (`button`: a row label, a place without a seat), or a seat's
    button for each state it may be in."""

    button: InlineKeyboardButton
    seat_id: int | None = None
    by_state: Mapping[SeatState, InlineKeyboardButton] = field(default_factory=dict)


def _grid(show_id: int, block: Block, closed: bool) -> tuple[tuple[_Place, ...], ...]:
    noop = encode(Action.NOOP)
    rows: list[tuple[_Place, ...]] = []
    for row in block.rows:
        by_column = {seat.column: seat for seat in row.seats}
        places = [_Place(button(row.label, noop))]
        for column in block.columns:
            seat = by_column.get(column)
            if seat is None:
                places.append(_Place(button(BLANK, noop)))
                continue
            data = noop if closed else encode(Action.SEAT, show_id, seat.id, block.number)
            by_state = {state: button(seat_text(seat, state), data) for state in SeatState}
            places.append(_Place(by_state[SeatState.SOLD], seat.id, by_state))
        rows.append(tuple(places))
    return tuple(rows)


def screen_row() -> list[InlineKeyboardButton]:
    """The screen marker above the front rows."""
    return [button(SCREEN, encode(Action.NOOP))]


def navigation_row(show_id: int, plan: BlockPlan, block: Block) -> list[InlineKeyboardButton]:
    """◀ and ▶ to the neighbouring blocks around a refresh button that shows the position."""
    total = len(plan.blocks)
    refresh = encode(Action.SHOW, show_id, block.number)
    if total == 1:
        return [button("🔄 Refresh", refresh)]
    noop = encode(Action.NOOP)
    before = encode(Action.SHOW, show_id, block.number - 1) if block.number > 1 else noop
    after = encode(Action.SHOW, show_id, block.number + 1) if block.number < total else noop
    return [
        button("◀" if block.number > 1 else BLANK, before),
        button(f"🔄 {block.number}/{total}", refresh),
        button("▶" if block.number < total else BLANK, after),
    ]


def best_row(show_id: int, counts: Sequence[int]) -> list[InlineKeyboardButton]:
    """✨N buttons: hold the best N seats side by side."""
    return [button(f"✨{count}", encode(Action.BEST, show_id, count)) for count in counts]


def legend(layout: HallLayout, states: Mapping[int, SeatState]) -> str:
    """One line telling the marks apart (the waitlist and wheelchair marks only where they occur)."""
    parts = ["number = free", f"{YOURS} yours", f"{TAKEN} taken"]
    if SeatState.OFFERED in states.values():
        parts.append(f"{KEPT} kept for the waitlist")
    if WHEELCHAIR in layout.categories:
        parts.append(f"{WHEELCHAIR_MARK} wheelchair")
    return " · ".join(parts)


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first}–{last}"


def position_text(plan: BlockPlan, block: Block) -> str:
    """Where the block is in the hall, e.g. "Block 2 of 4 · rows A–O · seats 5–9"."""
    numbers = sorted(seat.number for seat in block.seats())
    rows = _span(block.rows[0].label, block.rows[-1].label)
    seats = _span(str(numbers[0]), str(numbers[-1]))
    where = "Whole hall" if len(plan.blocks) == 1 else f"Block {block.number} of {len(plan.blocks)}"
    return f"{where} · rows {rows} · seats {seats}"

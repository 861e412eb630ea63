"""Putting a show's seat map on screen: read the show and its seats from the core, draw, edit in place.

The hall picture is rendered off the event loop and its Telegram file id remembered in Redis by the
picture's hash, so a picture Telegram already has (the same states, the same block) is never uploaded
again. Text screens shown over the map keep its picture and only change the caption.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import redis.asyncio as aioredis
from telegram import Message, Update

from booking_core.catalogue.views import ShowDetails
from booking_core.hall_layout import HallLayout
from booking_core.holds.seat_map import SeatMap
from bot.context import BotContext, core, services, user_id
from bot.flood_control import Traffic
from bot.replies import recaption, show
from bot.seat_map.choice import best_for, free_seats_not_wheelchair
from bot.views.hall_picture import render_hall
from bot.views.screen import Screen
from bot.views.seat_keyboard import HOME_BLOCK, BlockPlan, home_block, plan_blocks, position_text
from bot.views.seat_map import (
    SeatMapView,
    WaitlistButton,
    seat_map_caption,
    seat_map_keyboard,
    seats_locked,
)

PICTURE_ID_SECONDS = 86_400
# A map opens on the block of the best pair of seats when the user holds none.
HOME_PAIR = 2


@dataclass(frozen=True)
class ShowHall:
    """A show with its hall cut into blocks."""

    details: ShowDetails
    plan: BlockPlan

    @property
    def layout(self) -> HallLayout:
        """The hall's seats."""
        return self.plan.layout


def show_hall(details: ShowDetails, layout: HallLayout) -> ShowHall:
    """The show with its hall cut into blocks (bot.seat_map.halls keeps it for a few seconds)."""
    return ShowHall(details, plan_blocks(layout))


async def load_show_hall(context: BotContext, show_id: int) -> ShowHall | None:
    """The show and its hall from the catalogue (read at most every few seconds); None for an unknown
    show or an empty hall."""
    return await services(context).halls.hall(show_id)


async def _waitlist_button(
    context: BotContext, layout: HallLayout, seat_map: SeatMap, user: int, join_for: int
) -> WaitlistButton:
    """The waitlist button: status for a waiter; join when few seats are free (wheelchair spaces left out),
    people already wait, or the user just asked for `join_for` seats side by side and none were."""
    if seat_map.your_hold is not None or seats_locked(seat_map):
        return WaitlistButton.NONE
    if seat_map.waiting and await core(context).holds.waitlist.position(seat_map.show_id, user) is not None:
        return WaitlistButton.STATUS
    few_left = free_seats_not_wheelchair(layout, seat_map) < core(context).settings.MAX_SEATS_PER_BOOKING
    return WaitlistButton.JOIN if join_for or few_left or seat_map.waiting else WaitlistButton.NONE


def _picture_key(bot_id: int, picture: bytes) -> str:
    return f"bot:{bot_id}:hall-picture:{hashlib.sha256(picture).hexdigest()[:40]}"


async def seat_map_view(
    context: BotContext,
    hall: ShowHall,
    user: int,
    block_number: int,
    note: str | None = None,
    seat_map: SeatMap | None = None,
    *,
    join_waitlist_for: int = 0,
) -> SeatMapView:
    """The user's view of a block (HOME_BLOCK: where their seats, or the best pair, are), from `seat_map`
    when the caller has just had it from the core, else read afresh; `join_waitlist_for` N makes its
    waitlist button a one-tap join for N seats side by side."""
    if seat_map is None:
        seat_map = await core(context).holds.seat_map(hall.details.show_id, user)
    if block_number == HOME_BLOCK:
        preferred = (
            seat_map.your_hold.seat_ids if seat_map.your_hold else best_for(hall.layout, seat_map, HOME_PAIR)
        )
        block = home_block(hall.plan, preferred or ())
    else:
        block = hall.plan.block(block_number)
    return SeatMapView(
        details=hall.details,
        plan=hall.plan,
        block=block,
        seat_map=seat_map,
        now=datetime.now(UTC),
        max_seats=core(context).settings.MAX_SEATS_PER_BOOKING,
        waitlist=await _waitlist_button(context, hall.layout, seat_map, user, join_waitlist_for),
        join_waitlist_for=join_waitlist_for,
        note=note,
        miniapp_url=core(context).settings.miniapp_url,
    )


async def present_seat_map(
    update: Update,
    context: BotContext,
    hall: ShowHall,
    block_number: int,
    note: str | None = None,
    seat_map: SeatMap | None = None,
    traffic: Traffic | None = None,
    *,
    keep_picture: bool = False,
    join_waitlist_for: int = 0,
) -> Message | None:
    """Show the seat map of a block in place of the pressed message (a new message from a text screen);
    `seat_map` when the caller just had it from the core, `traffic` the screen's turn (bot/replies.py).

    With `keep_picture` (a tap on the map), a map already showing this block keeps its hall picture and
    only its caption and keyboard change: the picture is drawn when the view moves to another block.
    """
    view = await seat_map_view(
        context, hall, user_id(update), block_number, note, seat_map, join_waitlist_for=join_waitlist_for
    )
    query = update.callback_query
    pressed = query.message if query is not None else None
    if keep_picture and isinstance(pressed, Message) and pressed.photo and shows_block(pressed, view):
        screen = Screen(seat_map_caption(view), seat_map_keyboard(view), pressed.photo[-1].file_id)
        return await recaption(context.bot, pressed, screen, traffic)
    frame = [seat.id for seat in view.block.seats()]
    picture = await asyncio.to_thread(render_hall, hall.layout, view.seat_map.states, frame)
    redis: aioredis.Redis = core(context).redis
    key = _picture_key(context.bot.id, picture)
    found = await redis.get(key)
    known = found.decode() if isinstance(found, bytes) else found
    photo: bytes | str = known or picture
    screen = Screen(seat_map_caption(view), seat_map_keyboard(view), photo)
    message = await show(update, context, screen, traffic)
    uploaded = _uploaded_photo_id(message, pressed) if known is None else None
    if uploaded is not None:
        await redis.set(key, uploaded, ex=PICTURE_ID_SECONDS)
    return message


def _uploaded_photo_id(shown: Message | None, pressed: object) -> str | None:
    """The file id Telegram gave the picture just uploaded; None when the screen did not go out with it
    (an edit that a newer screen replaced answers with the pressed message and its old photo)."""
    if shown is None or not shown.photo:
        return None
    file_id = shown.photo[-1].file_id
    if isinstance(pressed, Message) and pressed.photo and pressed.photo[-1].file_id == file_id:
        return None
    return file_id


def shows_block(message: Message, view: SeatMapView) -> bool:
    """Whether seat-map `message` shows the view's block: its caption has the block's position line.

    The caption is read, not the keyboard (which updates arrive without: bot/updates.py): a picture and
    its position line only change together, and a text screen shown over the map has no position line.
    """
    return message.caption is not None and position_text(view.plan, view.block) in message.caption.split("\n")


async def show_over_map(update: Update, context: BotContext, screen: Screen) -> Message | None:
    """Show a text screen; over a seat map it becomes the caption and the hall picture stays."""
    query = update.callback_query
    message = query.message if query is not None else None
    if isinstance(message, Message) and message.photo and screen.photo is None:
        screen = replace(screen, photo=message.photo[-1].file_id)
    return await show(update, context, screen)

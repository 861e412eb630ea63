"""The seat map's buttons: open it, move between blocks, toggle seats, hold the best seats, let seats go.

Each press is decided under the user's selection lock (bot/seat_map/lock.py). The core call (one
Redis script, whose reply is the fresh seat map, and which counts the tap among the user's hold
attempts and notes when the hold's reminder falls due) comes before the callback answer because the
answer says how it went; the slow part (drawing, uploading) comes after it, outside the lock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update

from bot import context as ctx
from bot.codec import Action
from bot.context import BotApplication, BotContext
from bot.flood_control import screen_turn
from bot.replies import answer, pressed, show
from bot.routing import on_button
from bot.seat_map import taps as seat_taps
from bot.seat_map.lock import selection_lock
from bot.seat_map.queue_gate import queue_instead_of_map
from bot.seat_map.screen import ShowHall, load_show_hall, present_seat_map
from bot.seat_map.taps import Outcome
from bot.views.screen import Screen

GONE = Screen("This show is no longer listed. Send /start to find another one.")


async def hall_or_gone(update: Update, context: BotContext, show_id: int) -> ShowHall | None:
    """The show's hall; None, with an alert and a screen saying so, when the show is gone."""
    hall = await load_show_hall(context, show_id)
    if hall is None:
        await answer(update, "This show is no longer listed.", alert=True)
        await show(update, context, GONE)
    return hall


async def _tap(
    update: Update,
    context: BotContext,
    show_id: int,
    act: Callable[[ShowHall, int], Awaitable[Outcome]],
    *,
    keep_picture: bool = True,
) -> None:
    """Do `act` on the user's hold, answer the press with its outcome, redraw the map (its picture
    only when it shows another block, unless not `keep_picture`).

    The redraw runs after the user's next tap may start: its screen turn, taken while the outcome is
    fresh, keeps an older screen from overtaking a newer one in the rate limiter (bot/flood_control.py).
    """
    user = ctx.user_id(update)
    async with selection_lock(show_id, user):
        hall = await hall_or_gone(update, context, show_id)
        if hall is None:
            return
        outcome = await act(hall, user)
        await answer(update, outcome.text, alert=outcome.alert)
        turn = screen_turn()
    async with ctx.services(context).redraws:
        await present_seat_map(
            update,
            context,
            hall,
            outcome.block,
            outcome.note,
            outcome.seat_map,
            turn,
            keep_picture=keep_picture,
            join_waitlist_for=outcome.join_waitlist_for,
        )


async def seat_map(update: Update, context: BotContext) -> None:
    """The SHOW button: a block of the show's seat map (block 0: where your seats or the best ones are)."""
    callback = pressed(update)
    if callback is None:
        return
    show_id, block = callback.args

    async def stay(_hall: ShowHall, _user: int) -> Outcome:
        return Outcome(block=block)

    hall = await hall_or_gone(update, context, show_id)
    if hall is None or await queue_instead_of_map(update, context, hall):
        return
    await _tap(update, context, show_id, stay, keep_picture=False)


async def toggle_seat(update: Update, context: BotContext) -> None:
    """The SEAT button: add the seat to your hold, or let it go if it is yours."""
    callback = pressed(update)
    if callback is None:
        return
    show_id, seat_id, block = callback.args
    holds, max_seats = ctx.core(context).holds, ctx.settings(context).MAX_SEATS_PER_BOOKING

    async def toggle(hall: ShowHall, user: int) -> Outcome:
        return await seat_taps.toggle(holds, hall, user, seat_id, block, max_seats)

    await _tap(update, context, show_id, toggle)


async def best_seats(update: Update, context: BotContext) -> None:
    """The BEST button: hold the best N seats side by side (replacing your selection)."""
    callback = pressed(update)
    if callback is None:
        return
    show_id, count = callback.args
    holds, max_seats = ctx.core(context).holds, ctx.settings(context).MAX_SEATS_PER_BOOKING

    async def best(hall: ShowHall, user: int) -> Outcome:
        return await seat_taps.best(holds, hall, user, count, max_seats)

    await _tap(update, context, show_id, best)


async def release_seats(update: Update, context: BotContext) -> None:
    """The RELEASE button: let all your seats of the show go."""
    callback = pressed(update)
    if callback is None:
        return
    (show_id,) = callback.args
    holds = ctx.core(context).holds

    async def release(hall: ShowHall, user: int) -> Outcome:
        return await seat_taps.release(holds, hall, user)

    await _tap(update, context, show_id, release)


async def nothing(update: Update, context: BotContext) -> None:
    """The NOOP button (labels, the screen, empty places): answered, nothing else."""
    await answer(update)


def register(application: BotApplication) -> None:
    """Add the SHOW, SEAT, BEST, RELEASE and NOOP buttons."""
    application.add_handler(on_button(seat_map, Action.SHOW))
    application.add_handler(on_button(toggle_seat, Action.SEAT))
    application.add_handler(on_button(best_seats, Action.BEST))
    application.add_handler(on_button(release_seats, Action.RELEASE))
    application.add_handler(on_button(nothing, Action.NOOP))

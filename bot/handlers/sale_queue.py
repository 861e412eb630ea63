"""A premiere's on-sale queue: join with a party size, see your place (bot/seat_map/queue_gate.py)."""

from __future__ import annotations

from telegram import Update

from booking_core.holds.sale_queue import JoinRefused
from bot import context as ctx
from bot.codec import Action
from bot.context import BotApplication, BotContext
from bot.handlers.seats import hall_or_gone
from bot.replies import answer, pressed, show
from bot.routing import on_button
from bot.seat_map.queue_gate import present_spot
from bot.views.sale_queue import party_screen

REFUSALS = {
    "no_queue": "This show has no queue: choose seats on its map.",
    "show_started": "Booking for this show has closed.",
    "too_many_seats": "That is more seats than one booking may have.",
    "done": "The queue is over: this show is on normal sale now. Choose seats on its map.",
    "sold_out": "Sorry, this show is sold out.",
}


async def join(update: Update, context: BotContext) -> None:
    """The QUEUE_JOIN button: with party 0 ask how many seats, else take a place for that many."""
    callback = pressed(update)
    if callback is None:
        return
    show_id, party = callback.args
    hall = await hall_or_gone(update, context, show_id)
    if hall is None:
        return
    settings = ctx.settings(context)
    if party == 0:
        await answer(update)
        await show(update, context, party_screen(hall.details, max_seats=settings.MAX_SEATS_PER_BOOKING))
        return
    queues = ctx.core(context).holds.sale_queue
    joined = await queues.join(show_id, ctx.user_id(update), party)
    if isinstance(joined, JoinRefused):
        await answer(update, REFUSALS.get(joined.reason, "The queue is not open."), alert=True)
        return
    await answer(update, "You are in the queue." if joined.joined else "You keep your place in the queue.")
    await present_spot(update, context, hall, await queues.spot(show_id, ctx.user_id(update)))


async def status(update: Update, context: BotContext) -> None:
    """The QUEUE_STATUS button: your place in the queue, fresh."""
    callback = pressed(update)
    if callback is None:
        return
    (show_id,) = callback.args
    hall = await hall_or_gone(update, context, show_id)
    if hall is None:
        return
    await answer(update)
    await present_spot(
        update, context, hall, await ctx.core(context).holds.sale_queue.spot(show_id, ctx.user_id(update))
    )


def register(application: BotApplication) -> None:
    """Add the QUEUE_JOIN and QUEUE_STATUS buttons."""
    application.add_handler(on_button(join, Action.QUEUE_JOIN))
    application.add_handler(on_button(status, Action.QUEUE_STATUS))

"""The seat map of a premiere whose on-sale queue runs: until the user's turn comes they see their place
in the queue instead (the core refuses their holds anyway: this only spares them a useless map)."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Update

from booking_core.holds.sale_queue import QueueSpot, wait_minutes
from bot import context as ctx
from bot.context import BotContext
from bot.memory.queue_messages import QueueMessage, QueueMessages
from bot.replies import answer, show
from bot.seat_map.screen import ShowHall
from bot.views.sale_queue import queue_screen


async def present_spot(update: Update, context: BotContext, hall: ShowHall, spot: QueueSpot) -> None:
    """Show the user's place in the queue of `hall`'s show (in place of the pressed message)."""
    settings = ctx.settings(context)
    now = datetime.now(UTC)
    wait = wait_minutes(
        spot,
        now_ms=int(now.timestamp() * 1000),
        turns_cap=settings.SALE_QUEUE_TURNS,
        turn_seconds=settings.SALE_QUEUE_TURN_SECONDS,
        admissions_per_second=settings.SALE_QUEUE_ADMISSIONS_PER_SECOND,
    )
    message = await show(update, context, queue_screen(hall.details, spot, wait, now))
    if spot.queued and message is not None:
        shown = QueueMessage(message.chat_id, message.message_id)
        await QueueMessages(ctx.core(context).redis).remember(
            hall.details.show_id, ctx.user_id(update), shown
        )


async def queue_instead_of_map(update: Update, context: BotContext, hall: ShowHall) -> bool:
    """For a queued show whose queue has not ended, show the user's place instead of the seat map
    (unless their turn is open); True when it did."""
    details = hall.details
    if not details.sale_queue or details.on_sale_at is None:
        return False
    spot = await ctx.core(context).holds.sale_queue.spot(details.show_id, ctx.user_id(update))
    if spot.phase in ("done", "sold_out") or spot.turn_ends_ms is not None:
        return False
    if spot.admitted and not spot.queued:
        return False  # their turn is over; the hold they took (if any) is on the map
    await answer(update)
    await present_spot(update, context, hall, spot)
    return True

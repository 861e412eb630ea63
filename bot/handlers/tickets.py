"""/mytickets: upcoming and past tickets, each with its details and QR code; cancelling a booking.

Every booking is looked up among the pressing user's own bookings, so a forged or forwarded button
for someone else's booking only ever gets "that booking isn't yours" and the user's own list.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler

from booking_core.bookings.cancellation import CancelRefused
from booking_core.bookings.service import BookedTicket
from booking_core.models import utc_now
from booking_core.tickets.content import qr_png
from bot import context as ctx
from bot.codec import Action
from bot.context import BotApplication, BotContext
from bot.memory.checkout_messages import CheckoutMessages
from bot.memory.provider_checkouts import expire_checkouts
from bot.replies import answer, pressed, send, show, stale
from bot.routing import on_button
from bot.views.checkout import closed_checkout_text
from bot.views.screen import Screen
from bot.views.tickets import (
    cancel_question_screen,
    cancel_refused_text,
    cancelled_booking_screen,
    checkout_cancelled_screen,
    ticket_screen,
    tickets_screen,
)

log = logging.getLogger(__name__)

QR_FILE_KEY = "bot:qr-file:{}"
QR_FILE_SECONDS = 30 * 24 * 3600


async def _tickets(context: BotContext, user_id: int) -> Screen:
    upcoming, past = await ctx.core(context).bookings.list_tickets(user_id)
    return tickets_screen(upcoming, past, utc_now())


async def _find(context: BotContext, user_id: int, booking_id: int) -> BookedTicket | None:
    upcoming, past = await ctx.core(context).bookings.list_tickets(user_id)
    return next((ticket for ticket in [*upcoming, *past] if ticket.booking_id == booking_id), None)


async def my_tickets_command(update: Update, context: BotContext) -> None:
    """/mytickets: the list as a new message."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    await send(context.bot, chat.id, await _tickets(context, user.id))


async def my_tickets(update: Update, context: BotContext) -> None:
    """MY_TICKETS (under a delivered ticket or a notice, which stay): the list as a new message."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    await answer(update)
    await send(context.bot, chat.id, await _tickets(context, user.id))


async def tickets_here(update: Update, context: BotContext) -> None:
    """TICKETS: the list in place of the current screen."""
    user = update.effective_user
    if user is None:
        return
    await answer(update)
    await show(update, context, await _tickets(context, user.id))


async def ticket(update: Update, context: BotContext) -> None:
    """TICKET: one booking, with its QR code when the ticket stands."""
    callback, user = pressed(update), update.effective_user
    if callback is None or user is None:
        return
    found = await _find(context, user.id, callback.args[0])
    if found is None:
        await stale(update, context, "That booking isn't in your tickets.", await _tickets(context, user.id))
        return
    await answer(update)
    redis = ctx.core(context).redis
    qr: bytes | str | None = None
    if found.view is not None:
        qr = await redis.get(QR_FILE_KEY.format(found.view.code)) or qr_png(found.view.code)
    message = await show(update, context, ticket_screen(found, qr, utc_now()))
    if found.view is not None and isinstance(message, Message) and message.photo:
        # Telegram keeps the upload: next time the photo goes by its file id, not as bytes again.
        await redis.set(QR_FILE_KEY.format(found.view.code), message.photo[-1].file_id, ex=QR_FILE_SECONDS)


async def cancel_booking(update: Update, context: BotContext) -> None:
    """CANCEL_BOOKING: ask before cancelling a confirmed booking."""
    callback, user = pressed(update), update.effective_user
    if callback is None or user is None:
        return
    found = await _find(context, user.id, callback.args[0])
    if found is None:
        await stale(update, context, "That booking isn't in your tickets.", await _tickets(context, user.id))
        return
    now = utc_now()
    if not found.can_cancel:
        notice = "This booking can't be cancelled any more."
        await stale(update, context, notice, ticket_screen(found, None, now))
        return
    await answer(update)
    await show(update, context, cancel_question_screen(found, now))


async def cancel_confirmed(update: Update, context: BotContext) -> None:
    """CANCEL_CONFIRMED: cancel a booking (a paid one is refunded; an unpaid one's checkout is closed)."""
    callback, user = pressed(update), update.effective_user
    if callback is None or user is None:
        return
    (booking_id,) = callback.args
    core = ctx.core(context)
    found = await _find(context, user.id, booking_id)
    result = await core.bookings.cancel(booking_id, user.id)
    if isinstance(result, CancelRefused):
        notice = cancel_refused_text(result.reason, core.settings.CANCEL_CUTOFF_MINUTES)
        await stale(update, context, notice, await _tickets(context, user.id))
        return
    await answer(update, "Cancelled")
    if result.checkouts_to_expire:
        closing = expire_checkouts(core.payment_provider, result.checkouts_to_expire)
        context.application.create_task(closing, update=update)
    if result.refund_started:
        await show(update, context, cancelled_booking_screen(found, refund_started=True))
        return
    shown = await CheckoutMessages(core.redis).take_by_booking(booking_id)
    message = update.callback_query.message if update.callback_query else None
    if shown is not None and (message is None or message.message_id != shown.message_id):
        await _close(context, shown.chat_id, shown.message_id)
    await show(update, context, checkout_cancelled_screen(shown.show_id if shown else None))


async def _close(context: BotContext, chat_id: int, message_id: int) -> None:
    try:
        await context.bot.edit_message_text(
            closed_checkout_text("cancelled"), chat_id=chat_id, message_id=message_id
        )
    except TelegramError as error:  # the message may be gone or show something else by now
        log.info("checkout message %s not closed: %s", message_id, error)


def register(application: BotApplication) -> None:
    """Add /mytickets and the ticket buttons."""
    application.add_handler(CommandHandler("mytickets", my_tickets_command))
    application.add_handler(on_button(my_tickets, Action.MY_TICKETS))
    application.add_handler(on_button(tickets_here, Action.TICKETS))
    application.add_handler(on_button(ticket, Action.TICKET))
    application.add_handler(on_button(cancel_booking, Action.CANCEL_BOOKING))
    application.add_handler(on_button(cancel_confirmed, Action.CANCEL_CONFIRMED))

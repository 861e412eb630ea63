"""Checkout: the user's current hold becomes a booking awaiting payment, opened at the payment provider.

Pressing CHECKOUT again (or coming back from the delivery details) is safe: the same hold gives the
same booking, and the provider checkout is opened under the booking's idempotency key.
"""

from __future__ import annotations

import logging

from telegram import Message, Update

from booking_core.bookings.checkout import CheckoutRefusal, CheckoutRefused
from booking_core.bookings.customers import get_or_create_customer
from booking_core.models import utc_now
from booking_core.payments.port import PaymentError
from bot import context as ctx
from bot.codec import Action
from bot.context import BotApplication, BotContext
from bot.memory.checkout_messages import CheckoutMessage, CheckoutMessages
from bot.memory.provider_checkouts import expire_checkouts
from bot.replies import answer, pressed, show
from bot.routing import on_button
from bot.seat_map.screen import load_show_hall, present_seat_map
from bot.views.checkout import (
    checkout_screen,
    hold_gone_screen,
    provider_down_screen,
    refused_screen,
    seat_lines,
)
from bot.views.format import format_money
from bot.views.seat_keyboard import HOME_BLOCK

log = logging.getLogger(__name__)


async def checkout(update: Update, context: BotContext) -> None:
    """The CHECKOUT button: summary of the held seats with a Pay button opening the provider's page."""
    callback = pressed(update)
    user, chat = update.effective_user, update.effective_chat
    if callback is None or user is None or chat is None:
        return
    (show_id,) = callback.args
    core = ctx.core(context)
    hold = await core.holds.current_hold(show_id, user.id)
    if hold is None:
        await _hold_gone(update, context, show_id)
        return
    await answer(update)
    customer = await get_or_create_customer(core.sessions, user.id, chat.id, user.full_name)
    started = await core.bookings.start_checkout(hold)
    details = await core.catalogue.show_details(show_id)
    if isinstance(started, CheckoutRefused):
        log.info("checkout of show %s for user %s refused: %s", show_id, user.id, started.reason)
        if started.reason == CheckoutRefusal.HOLD_EXPIRED:
            await _hold_gone(update, context, show_id, answered=True)
        else:
            price = None
            if started.amount_minor is not None and started.currency:
                price = format_money(started.amount_minor, started.currency)
            await show(update, context, refused_screen(started.reason, details, show_id, cinema_price=price))
        return
    if details is None:
        await show(update, context, hold_gone_screen(None, show_id))
        return
    provider = core.payment_provider
    if started.superseded_checkouts:
        closing = expire_checkouts(provider, started.superseded_checkouts)
        context.application.create_task(closing, update=update)
    try:
        opened = await provider.create_checkout(started.checkout_request())
        await core.bookings.record_checkout(started.booking_id, provider.name, opened.checkout_id, opened.url)
    except PaymentError as error:
        log.warning("checkout of booking %s not opened at %s: %s", started.booking_id, provider.name, error)
        await show(
            update, context, provider_down_screen(started.booking_id, details, hold.expires_at, utc_now())
        )
        return
    layout = await core.catalogue.hall_layout(show_id)
    screen = checkout_screen(
        started.booking_id,
        details,
        seat_lines(layout, details, hold.seat_ids),
        started.amount_minor,
        started.currency,
        hold.expires_at,
        utc_now(),
        opened.url,
        customer,
    )
    message = await show(update, context, screen)
    if isinstance(message, Message):
        shown = CheckoutMessage(started.booking_id, show_id, user.id, message.chat_id, message.message_id)
        await CheckoutMessages(core.redis).remember(shown)
    await ctx.reminders(context).schedule(hold)


async def _hold_gone(update: Update, context: BotContext, show_id: int, *, answered: bool = False) -> None:
    """The hold lapsed (or was replaced): say so, then the seat map as it is now."""
    notice = "Your seats are no longer held: the hold ran out. Here is the seat map now."
    if not answered:
        await answer(update, notice, alert=True)
    hall = await load_show_hall(context, show_id)
    if hall is None:
        await show(update, context, hold_gone_screen(None, show_id))
    else:
        await present_seat_map(update, context, hall, HOME_BLOCK, notice if answered else None)


def register(application: BotApplication) -> None:
    """Add the CHECKOUT button."""
    application.add_handler(on_button(checkout, Action.CHECKOUT))

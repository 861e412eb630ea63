"""Checkout: the user's current hold becomes a booking awaiting payment, opened at the payment provider.

Pressing CHECKOUT again (or coming back from the delivery details) is safe: the same hold gives the
same booking, and the provider checkout is opened under the booking's idempotency key.
"""

from __future__ import annotations

from telegram import Message, Update

from booking_core.bookings.errors import CheckoutRefusal
from bot import context as ctx
from bot.checkout_flow import CheckoutNotOpened, Payer, open_checkout, remember_checkout_message
from bot.codec import Action
from bot.context import BotApplication, BotContext
from bot.replies import answer, pressed, show
from bot.routing import on_button
from bot.seat_map.screen import load_show_hall, present_seat_map
from bot.views.checkout import hold_gone_screen
from bot.views.seat_keyboard import HOME_BLOCK


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
    payer = Payer(user.id, chat.id, user.full_name)
    outcome = await open_checkout(
        core, hold, payer, lambda job: context.application.create_task(job, update=update)
    )
    if isinstance(outcome, CheckoutNotOpened):
        if outcome.reason == CheckoutRefusal.HOLD_EXPIRED:
            await _hold_gone(update, context, show_id, answered=True)
        else:
            await show(update, context, outcome.screen)
        return
    message = await show(update, context, outcome.screen)
    if isinstance(message, Message):
        await remember_checkout_message(core.redis, outcome, message)


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

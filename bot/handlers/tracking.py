"""After an accepted waitlist offer is answered (group 1), schedule the "about to be released" reminder.
Seat taps and best-seat presses schedule theirs from the core's answer (bot/handlers/seats.py), without
reading the hold again."""

from __future__ import annotations

from telegram import Update

from bot import context as ctx
from bot.codec import Action
from bot.context import BotApplication, BotContext
from bot.replies import pressed
from bot.routing import on_button

# Buttons that may leave the user holding seats and do not schedule the reminder themselves (CHECKOUT,
# SEAT and BEST do; scheduling one hold twice changes nothing).
HOLDING_ACTIONS = (Action.OFFER_ACCEPT,)
AFTER = 1


async def schedule_reminder(update: Update, context: BotContext) -> None:
    """Schedule a reminder for the hold the press left, if any."""
    callback, user = pressed(update), update.effective_user
    if callback is None or user is None:
        return
    hold = await ctx.core(context).holds.current_hold(callback.args[0], user.id)
    if hold is not None:
        await ctx.reminders(context).schedule(hold)


def register(application: BotApplication) -> None:
    """Add the tracker in its own group, after the handlers that answer the press."""
    application.add_handler(on_button(schedule_reminder, *HOLDING_ACTIONS), group=AFTER)

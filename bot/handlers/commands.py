"""/help (and the HELP button) and /cancel: stop, letting go of every seat the user holds."""

from __future__ import annotations

import contextlib

from telegram import ReplyKeyboardRemove, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler

from bot import context as ctx
from bot.codec import Action
from bot.context import BotApplication, BotContext
from bot.memory.checkout_messages import CheckoutMessages
from bot.memory.contact_prompts import ContactPrompts
from bot.replies import answer, send, show
from bot.routing import on_button
from bot.views.checkout import closed_checkout_text
from bot.views.help import cancelled_screen, help_screen
from bot.views.screen import Screen


def _help(context: BotContext) -> Screen:
    return help_screen(max(1, ctx.settings(context).HOLD_SECONDS // 60))


async def help_command(update: Update, context: BotContext) -> None:
    """/help: what the bot does, its commands, and the main actions."""
    chat = update.effective_chat
    if chat is not None:
        await send(context.bot, chat.id, _help(context))


async def help_button(update: Update, context: BotContext) -> None:
    """The HELP button: the help screen in place."""
    await answer(update)
    await show(update, context, _help(context))


async def cancel_command(update: Update, context: BotContext) -> None:
    """/cancel: release the user's holds (declining waitlist offers) and close any open prompt."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    core = ctx.core(context)
    released: list[str] = []
    checkouts = CheckoutMessages(core.redis)
    # The shows the user holds seats in, and those whose waitlist they joined (an offer may wait there),
    # whether from the chat or the Mini App.
    held = await core.holds.held_shows(user.id)
    waiting = await core.holds.waitlist.waiting_shows(user.id)
    for show_id in dict.fromkeys([*held, *waiting]):
        hold = await core.holds.current_hold(show_id, user.id)
        if hold is None:
            continue
        if hold.is_offer:
            await core.holds.waitlist.decline(show_id, user.id)
        else:
            await core.holds.release(show_id, hold.token)
        shown = await checkouts.take_by_hold(show_id, user.id)
        if shown is not None:
            await _close_quietly(context, shown.chat_id, shown.message_id)
        details = await core.catalogue.show_details(show_id)
        released.append(details.movie.title if details else f"show {show_id}")
    prompts = ContactPrompts(core.redis)
    if await prompts.peek(user.id) is not None:
        await prompts.close(user.id)
        # The share-phone keyboard is a reply keyboard: only a message can take it away.
        await send(context.bot, chat.id, Screen("OK, stopped."), reply_markup=ReplyKeyboardRemove())
    await send(context.bot, chat.id, cancelled_screen(released))


async def _close_quietly(context: BotContext, chat_id: int, message_id: int) -> None:
    # The checkout message may be gone, or show something else by now: then there is nothing to close.
    with contextlib.suppress(TelegramError):
        await context.bot.edit_message_text(
            closed_checkout_text("cancelled"), chat_id=chat_id, message_id=message_id
        )


def register(application: BotApplication) -> None:
    """Add /help, /cancel and the HELP button."""
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("cancel", cancel_command))
    application.add_handler(on_button(help_button, Action.HELP))

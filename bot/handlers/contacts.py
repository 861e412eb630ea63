"""Contact details for ticket delivery: phone through Telegram's contact-sharing button, email typed and
validated; both optional and remembered per customer. Typed text that is not an email gets a hint."""

from __future__ import annotations

import logging

from telegram import Message, ReplyKeyboardRemove, Update
from telegram.error import TelegramError
from telegram.ext import MessageHandler, filters

from booking_core.bookings.customers import InvalidContact, get_or_create_customer, set_email, set_phone
from bot import context as ctx
from bot.codec import Action
from bot.context import BotApplication, BotContext
from bot.memory.contact_prompts import ContactPrompt, ContactPrompts
from bot.replies import answer, pressed, send, show
from bot.routing import on_button
from bot.views.contacts import (
    NOT_NOW,
    contacts_screen,
    email_prompt,
    invalid_phone_text,
    not_own_contact_text,
    phone_prompt,
)
from bot.views.help import not_understood_screen
from bot.views.screen import Screen, esc

log = logging.getLogger(__name__)


async def contacts(update: Update, context: BotContext) -> None:
    """The CONTACTS button: the delivery details, in place."""
    callback, user, chat = pressed(update), update.effective_user, update.effective_chat
    if callback is None or user is None or chat is None:
        return
    await answer(update)
    customer = await get_or_create_customer(ctx.core(context).sessions, user.id, chat.id, user.full_name)
    await show(update, context, contacts_screen(customer, callback.args[0]))


async def ask_phone(update: Update, context: BotContext) -> None:
    """PHONE_ASK: send the contact-sharing keyboard."""
    screen, markup = phone_prompt()
    await _ask(update, context, "phone", screen, markup)


async def ask_email(update: Update, context: BotContext) -> None:
    """EMAIL_ASK: ask for the address with a reply field opened."""
    screen, markup = email_prompt()
    await _ask(update, context, "email", screen, markup)


async def _ask(update: Update, context: BotContext, kind: str, screen: Screen, markup: object) -> None:
    callback, user, query = pressed(update), update.effective_user, update.callback_query
    if callback is None or user is None or query is None or query.message is None:
        return
    await answer(update)
    prompt = await send(context.bot, query.message.chat.id, screen, reply_markup=markup)
    record = ContactPrompt(
        "phone" if kind == "phone" else "email", callback.args[0], query.message.message_id, prompt.message_id
    )
    await ContactPrompts(ctx.core(context).redis).open(user.id, record)


async def clear_phone(update: Update, context: BotContext) -> None:
    """PHONE_CLEAR: forget the phone number."""
    await _clear(update, context, "phone")


async def clear_email(update: Update, context: BotContext) -> None:
    """EMAIL_CLEAR: forget the email address."""
    await _clear(update, context, "email")


async def _clear(update: Update, context: BotContext, kind: str) -> None:
    callback, user, chat = pressed(update), update.effective_user, update.effective_chat
    if callback is None or user is None or chat is None:
        return
    sessions = ctx.core(context).sessions
    await get_or_create_customer(sessions, user.id, chat.id, user.full_name)
    if kind == "phone":
        customer = await set_phone(sessions, user.id, None)
        await answer(update, "Phone number removed")
    else:
        customer = await set_email(sessions, user.id, None)
        await answer(update, "Email address removed")
    await show(update, context, contacts_screen(customer, callback.args[0]))


async def contact_shared(update: Update, context: BotContext) -> None:
    """A shared contact: the user's own phone number, saved for SMS tickets."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or message.contact is None or user is None or chat is None:
        return
    if message.contact.user_id != user.id:
        await send(context.bot, chat.id, Screen(not_own_contact_text()))
        return
    number = message.contact.phone_number.strip()
    number = number if number.startswith("+") else f"+{number}"
    sessions = ctx.core(context).sessions
    await get_or_create_customer(sessions, user.id, chat.id, user.full_name)
    try:
        customer = await set_phone(sessions, user.id, number)
    except InvalidContact:
        await send(
            context.bot, chat.id, Screen(invalid_phone_text(number)), reply_markup=ReplyKeyboardRemove()
        )
        return
    await _saved(update, context, f"✅ Phone number saved: <b>{esc(customer.phone or number)}</b>")


async def typed_text(update: Update, context: BotContext) -> None:
    """Typed text: an email address (when it looks like one, or one was asked for), "Not now", or a hint."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or message.text is None or user is None or chat is None:
        return
    prompts = ContactPrompts(ctx.core(context).redis)
    text = message.text.strip()
    if text == NOT_NOW:
        await prompts.close(user.id)
        await send(
            context.bot, chat.id, Screen("OK, no phone number for now."), reply_markup=ReplyKeyboardRemove()
        )
        return
    prompt = await prompts.peek(user.id)
    if "@" not in text and (prompt is None or prompt.kind != "email"):
        await send(context.bot, chat.id, not_understood_screen())
        return
    sessions = ctx.core(context).sessions
    await get_or_create_customer(sessions, user.id, chat.id, user.full_name)
    try:
        customer = await set_email(sessions, user.id, text)
    except InvalidContact:
        screen, markup = email_prompt(retry_of=text)
        retry = await send(context.bot, chat.id, screen, reply_markup=markup)
        if prompt is not None:
            await _delete(context, chat.id, prompt.prompt_message_id)
            await prompts.open(
                user.id, ContactPrompt("email", prompt.show_id, prompt.screen_message_id, retry.message_id)
            )
        return
    await _saved(update, context, f"✅ Email saved: <b>{esc(customer.email or text)}</b>")


async def _saved(update: Update, context: BotContext, notice: str) -> Message | None:
    """After saving a detail: the prompt and the old details screen go, the updated screen comes."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    core = ctx.core(context)
    prompts = ContactPrompts(core.redis)
    prompt = await prompts.peek(user.id)
    await prompts.close(user.id)
    if prompt is not None:
        await _delete(context, chat.id, prompt.prompt_message_id)
        await _delete(context, chat.id, prompt.screen_message_id)
    customer = await get_or_create_customer(core.sessions, user.id, chat.id, user.full_name)
    return await send(
        context.bot, chat.id, contacts_screen(customer, prompt.show_id if prompt else 0, notice)
    )


async def _delete(context: BotContext, chat_id: int, message_id: int) -> None:
    try:
        await context.bot.delete_message(chat_id, message_id)
    except TelegramError as error:
        log.info("message %s not deleted: %s", message_id, error)


def register(application: BotApplication) -> None:
    """Add the delivery-details buttons, shared contacts and typed text (registered last of the messages)."""
    application.add_handler(on_button(contacts, Action.CONTACTS))
    application.add_handler(on_button(ask_phone, Action.PHONE_ASK))
    application.add_handler(on_button(ask_email, Action.EMAIL_ASK))
    application.add_handler(on_button(clear_phone, Action.PHONE_CLEAR))
    application.add_handler(on_button(clear_email, Action.EMAIL_CLEAR))
    application.add_handler(MessageHandler(filters.CONTACT, contact_shared))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, typed_text))

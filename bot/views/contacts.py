"""Ticket delivery details: the optional phone number (shared with Telegram's button) and email (typed)."""

from __future__ import annotations

from telegram import ForceReply, InlineKeyboardButton, KeyboardButton, ReplyKeyboardMarkup

from booking_core.bookings.customers import CustomerRecord
from bot.codec import Action
from bot.views.screen import Screen, button, esc, keyboard

SHARE_PHONE = "📱 Share my phone number"
NOT_NOW = "✖️ Not now"
EMAIL_PLACEHOLDER = "name@example.com"


def contacts_screen(customer: CustomerRecord | None, show_id: int, notice: str | None = None) -> Screen:
    """The delivery details with buttons to add, change or remove each; Back to the payment if from one."""
    phone = customer.phone if customer else None
    email = customer.email if customer else None
    lines = [notice, ""] if notice else []
    lines += [
        "📨 <b>Ticket delivery</b>",
        "",
        "Your ticket always comes here in Telegram. Add a phone number or an email address to get a copy "
        "by SMS or email as well. Both are optional, and remembered for your next booking.",
        "",
        f"📱 Phone: <b>{esc(phone)}</b>" if phone else "📱 Phone: not set",
        f"✉️ Email: <b>{esc(email)}</b>" if email else "✉️ Email: not set",
    ]
    rows: list[list[InlineKeyboardButton]] = [
        [
            button("📱 Change phone" if phone else "📱 Add phone", Action.PHONE_ASK, show_id),
            button("✉️ Change email" if email else "✉️ Add email", Action.EMAIL_ASK, show_id),
        ]
    ]
    removals = []
    if phone:
        removals.append(button("🗑 Remove phone", Action.PHONE_CLEAR, show_id))
    if email:
        removals.append(button("🗑 Remove email", Action.EMAIL_CLEAR, show_id))
    rows.append(removals)
    if show_id:
        rows.append([button("⬅️ Back to payment", Action.CHECKOUT, show_id)])
    else:
        rows.append([button("⬅️ Menu", Action.HELP)])
    return Screen("\n".join(lines), keyboard(rows))


def phone_prompt() -> tuple[Screen, ReplyKeyboardMarkup]:
    """Asking for the phone number: the contact-sharing keyboard does the typing."""
    text = f"📱 Tap <b>{SHARE_PHONE}</b> below. We use your number only to text you your tickets."
    markup = ReplyKeyboardMarkup(
        [[KeyboardButton(SHARE_PHONE, request_contact=True)], [KeyboardButton(NOT_NOW)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    return Screen(text), markup


def email_prompt(retry_of: str | None = None) -> tuple[Screen, ForceReply]:
    """Asking for an email address (again, after `retry_of` was not one)."""
    if retry_of is None:
        text = "✉️ Type your email address and send it. We use it only to email you your tickets."
    else:
        text = (
            f"✉️ <code>{esc(retry_of[:100])}</code> doesn't look like an email address. "
            "Please check it and send it again."
        )
    return Screen(text), ForceReply(input_field_placeholder=EMAIL_PLACEHOLDER)


def invalid_phone_text(phone: str) -> str:
    """A shared number we cannot text."""
    return f"📱 <code>{esc(phone[:40])}</code> isn't a number we can text. Your details are unchanged."


def not_own_contact_text() -> str:
    """Someone shared another person's contact card."""
    return f"📱 Please share your own number with the <b>{SHARE_PHONE}</b> button."

"""/help, /cancel and the answer to text the bot does not understand."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import BotCommand, InlineKeyboardButton

from bot.codec import Action
from bot.views.screen import Screen, button, esc, keyboard

# The commands shown in Telegram's menu (setMyCommands), in menu order.
COMMANDS = (
    BotCommand("start", "Find a show and book seats"),
    BotCommand("mytickets", "Your tickets with their QR codes"),
    BotCommand("cancel", "Stop and release the seats you hold"),
    BotCommand("help", "How Marquee works"),
)


def _menu() -> list[list[InlineKeyboardButton]]:
    return [
        [button("🎬 Book a ticket", Action.CITIES), button("🎟 My tickets", Action.TICKETS)],
        [button("📨 Ticket delivery", Action.CONTACTS, 0)],
    ]


def help_screen(hold_minutes: int) -> Screen:
    """What the bot does and its commands, with the main actions as buttons."""
    text = "\n".join(
        [
            "ℹ️ <b>Marquee</b> books cinema seats right here in Telegram.",
            "",
            "1. Pick a city (or share your location), a movie and a show time.",
            "2. Tap the seats you want on the seat map.",
            f"3. Pay: your seats are held for {hold_minutes} minutes while you do.",
            "4. Your ticket with its QR code arrives here (and by SMS or email if you like).",
            "",
            "Sold out? Join the waitlist: freed seats are offered to people in the order they joined.",
            "",
            "/start — find a show and book seats",
            "/mytickets — your tickets with their QR codes",
            "/cancel — stop and release the seats you hold",
            "/help — this message",
        ]
    )
    return Screen(text, keyboard(_menu()))


def not_understood_screen() -> Screen:
    """Typed text that is neither a command nor an answer the bot asked for."""
    return Screen(
        "🤔 I didn't catch that. Use the buttons, or /help to see what I can do.", keyboard(_menu())
    )


def cancelled_screen(released: Sequence[str]) -> Screen:
    """/cancel: which holds (movie titles) were let go, if any."""
    if not released:
        text = "✖️ Nothing to cancel: you aren't holding any seats right now."
    else:
        shows = ", ".join(f"<b>{esc(title)}</b>" for title in released)
        text = f"✖️ Done. Your held seats for {shows} are released."
    return Screen(text + "\n\nTickets you've paid for stay valid: see /mytickets.", keyboard(_menu()))

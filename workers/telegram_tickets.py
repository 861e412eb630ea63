"""The ticket and the show reminder as Telegram messages, paced, with Telegram's errors as DeliveryErrors.

The messages carry a "My tickets" button whose callback data is the bot's own codec string for the
/mytickets view, so pressing it works from any bot instance (DESIGN.md section 6).
"""

from __future__ import annotations

import html
import warnings
from datetime import timedelta

import redis.asyncio as aioredis
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from booking_core.models import utc_now
from booking_core.tickets.content import TicketView, format_show_time, qr_png
from booking_core.tickets.senders import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from bot.views.tickets import telegram_caption
from workers.telegram_pacing import DEFAULT_PACE, PAID_BROADCAST_PACE, TelegramPace, wait_before_sending

MY_TICKETS_CALLBACK = "v1:mytickets"
MY_TICKETS_LABEL = "🎟 My tickets"
# The bot's CANCEL_BOOKING button (bot/codec.py): it asks the customer before cancelling.
CANCEL_CALLBACK = "v1:cx:{}"
CANCEL_LABEL = "✖️ Cancel for a refund"


class SendLater(Exception):
    """Not an error: the chat (or the bot as a whole) must wait `delay_ms` before its next message."""

    def __init__(self, delay_ms: int) -> None:
        super().__init__(f"paced: send again in {delay_ms} ms")
        self.delay_ms = delay_ms


class FloodWait(TransientDeliveryError):
    """Telegram answered 429 anyway: retry no sooner than it asked."""

    def __init__(self, retry_after_ms: int) -> None:
        super().__init__("429", f"flood control: retry after {retry_after_ms} ms")
        self.retry_after_ms = retry_after_ms


def my_tickets_keyboard() -> InlineKeyboardMarkup:
    """The one-button keyboard under every ticket and reminder."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(MY_TICKETS_LABEL, callback_data=MY_TICKETS_CALLBACK)]])


def reminder_text(view: TicketView) -> str:
    """The reminder before the show, in Telegram's HTML parse mode."""
    return "\n".join(
        [
            f"⏰ Reminder: <b>{html.escape(view.movie_title)}</b> starts soon.",
            format_show_time(view.local_start),
            f"{html.escape(view.cinema_name)}, {html.escape(view.hall_name)}",
            html.escape(view.cinema_address),
            f"Seats: {html.escape(', '.join(view.seat_labels))}",
            f"Ticket code: <code>{html.escape(view.code)}</code>",
        ]
    )


async def send_ticket(
    bot: telegram.Bot,
    redis: aioredis.Redis,
    chat_id: int,
    view: TicketView,
    *,
    paid_broadcast: bool = False,
) -> str:
    """Send the QR code as a photo with the ticket as its caption; returns the message id.

    `paid_broadcast` (TELEGRAM_ALLOW_PAID_BROADCAST): asked with Telegram's allow_paid_broadcast and
    paced at its higher overall rate (PAID_BROADCAST_PACE); each chat is paced as always.
    """
    await _take_turn(redis, chat_id, PAID_BROADCAST_PACE if paid_broadcast else DEFAULT_PACE)
    try:
        message = await bot.send_photo(
            chat_id,
            photo=qr_png(view.code),
            caption=telegram_caption(view),
            parse_mode=ParseMode.HTML,
            reply_markup=my_tickets_keyboard(),
            allow_paid_broadcast=paid_broadcast or None,
        )
    except TelegramError as exc:
        raise delivery_error(exc) from exc
    return str(message.message_id)


async def send_reminder(
    bot: telegram.Bot,
    redis: aioredis.Redis,
    chat_id: int,
    view: TicketView,
    pace: TelegramPace = DEFAULT_PACE,
) -> str:
    """Remind the customer of the show (refused once it has begun); returns the message id."""
    if utc_now() >= view.starts_at:
        raise PermanentDeliveryError("show_started", "the show began before the reminder could go out")
    return await _send_text(bot, redis, chat_id, reminder_text(view), my_tickets_keyboard(), pace)


def show_notice_text(view: TicketView, *, withdrawn: bool) -> str:
    """The notice of a withdrawn show (cancelled, refunded) or a moved one (its new time), in HTML."""
    title, place = (
        html.escape(view.movie_title),
        f"{html.escape(view.cinema_name)}, {html.escape(view.hall_name)}",
    )
    seats = f"Seats: {html.escape(', '.join(view.seat_labels))}"
    if withdrawn:
        return "\n".join(
            [
                f"🚫 The cinema has withdrawn <b>{title}</b> ({format_show_time(view.local_start)}).",
                place,
                seats,
                "Your booking is cancelled and your payment is being refunded in full.",
            ]
        )
    return "\n".join(
        [
            f"🕒 <b>{title}</b> has moved to a new time: {format_show_time(view.local_start)}.",
            place,
            seats,
            f"Your ticket <code>{html.escape(view.code)}</code> stays valid for the new time. "
            "If it does not suit you, cancel the booking for a full refund.",
        ]
    )


def show_notice_keyboard(booking_id: int, *, withdrawn: bool) -> InlineKeyboardMarkup:
    """My tickets; for a moved show also the cancel button (the bot asks before it cancels)."""
    buttons = [InlineKeyboardButton(MY_TICKETS_LABEL, callback_data=MY_TICKETS_CALLBACK)]
    if not withdrawn:
        buttons.insert(
            0, InlineKeyboardButton(CANCEL_LABEL, callback_data=CANCEL_CALLBACK.format(booking_id))
        )
    return InlineKeyboardMarkup([buttons])


async def send_show_notice_message(
    bot: telegram.Bot,
    redis: aioredis.Redis,
    chat_id: int,
    booking_id: int,
    view: TicketView,
    *,
    withdrawn: bool,
    pace: TelegramPace = DEFAULT_PACE,
) -> str:
    """Tell the customer their show was withdrawn or moved; returns the message id."""
    text, keyboard = (
        show_notice_text(view, withdrawn=withdrawn),
        show_notice_keyboard(booking_id, withdrawn=withdrawn),
    )
    return await _send_text(bot, redis, chat_id, text, keyboard, pace)


async def _send_text(
    bot: telegram.Bot,
    redis: aioredis.Redis,
    chat_id: int,
    text: str,
    keyboard: InlineKeyboardMarkup,
    pace: TelegramPace,
) -> str:
    """One HTML message in the chat's turn; returns its id, or raises a DeliveryError."""
    await _take_turn(redis, chat_id, pace)
    try:
        message = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    except TelegramError as exc:
        raise delivery_error(exc) from exc
    return str(message.message_id)


def delivery_error(exc: TelegramError) -> DeliveryError:
    """Telegram's error as a DeliveryError that says whether trying again can help."""
    if isinstance(exc, RetryAfter):
        # An int (deprecated, with a warning) or a timedelta, depending on PTB_TIMEDELTA.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return FloodWait(int(seconds * 1000))
    if isinstance(exc, Forbidden | BadRequest | ChatMigrated):
        # The user blocked the bot, the chat is gone, or Telegram refused the message itself.
        return PermanentDeliveryError(type(exc).__name__.lower(), exc.message)
    # Timeouts and network failures (the message may have gone through: a retry risks a duplicate).
    return TransientDeliveryError(type(exc).__name__.lower(), exc.message)


async def _take_turn(redis: aioredis.Redis, chat_id: int, pace: TelegramPace) -> None:
    delay_ms = await wait_before_sending(redis, chat_id, int(utc_now().timestamp() * 1000), pace)
    if delay_ms > 0:
        raise SendLater(delay_ms)

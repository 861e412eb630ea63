"""The core's events as Telegram messages: the bot's (and a worker's) `EventSink`.

`TelegramNotifier` is created before the core (the core publishes into it) and bound to a Bot and the
core once both exist. `publish` never waits on Telegram: each message goes out in a background task,
so a user pressing a button is not held up by messages to other users. Workers that hold a plain
`telegram.Bot` may call `deliver_event` directly. Messages go to the user's private chat (its id is
the user id); a user who blocked the bot is skipped, and Telegram's flood control is waited out. Every
message here is the bot's own initiative: marked bulk for the bot's rate limiter (bot/flood_control.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from booking_core.bookings.cancellation import CANCELLED_BY_CUSTOMER
from booking_core.catalogue.views import ShowDetails
from booking_core.events import (
    BookingConfirmed,
    Event,
    HoldExpired,
    OfferExpired,
    OfferMade,
    QueueMoved,
    QueueSoldOut,
    RefundStarted,
    TurnCame,
)
from booking_core.holds.store import Hold
from booking_core.models import utc_now
from bot.flood_control import bulk, retry_after_seconds
from bot.memory.checkout_messages import CheckoutMessages
from bot.memory.queue_messages import QueueMessages
from bot.replies import send
from bot.views import notices
from bot.views.checkout import closed_checkout_text
from bot.views.sale_queue import place_passed, place_screen
from bot.views.screen import Screen

if TYPE_CHECKING:
    from bot.core import BookingCore

log = logging.getLogger(__name__)
T = TypeVar("T")

FLOOD_RETRIES = 3


class TelegramNotifier:
    """An EventSink that tells users in Telegram, in the background; bind it before events flow."""

    def __init__(self) -> None:
        self._bot: Bot | None = None
        self._core: BookingCore | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def bind(self, bot: Bot, core: BookingCore) -> None:
        """Send through `bot`, looking shows and bookings up in `core`."""
        self._bot, self._core = bot, core

    async def publish(self, event: Event) -> None:
        """Queue the event's message; returns at once and never raises."""
        if self._bot is None or self._core is None:
            log.warning("notifier not bound to a bot yet: %r not sent", event)
            return
        task = asyncio.create_task(self._deliver(self._bot, self._core, event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def remind(self, hold: Hold) -> None:
        """Send a "held until" reminder for a live hold (bot/hold_reminders.py, as one falls due)."""
        if self._bot is None or self._core is None:
            return
        screen = await hold_expiring_notice(self._core, hold)
        await send_notice(self._bot, hold.user_id, screen)

    async def drain(self, timeout: float = 10.0) -> bool:  # noqa: ASYNC109 - bounded wait at shutdown
        """Wait (at most `timeout` seconds) for messages still being sent; whether they all were."""
        pending = set(self._tasks)
        if not pending:
            return True
        _sent, unsent = await asyncio.wait(pending, timeout=timeout)
        return not unsent

    async def _deliver(self, bot: Bot, core: BookingCore, event: Event) -> None:
        try:
            await deliver_event(bot, core, event)
        except Exception:
            log.exception("could not tell user %s about %r", event.user_id, event)


async def deliver_event(bot: Bot, core: BookingCore, event: Event) -> Message | None:
    """Send the message `event` calls for (None when none is due or the user cannot be reached)."""
    if isinstance(event, QueueMoved):
        await _refresh_place(bot, core, event)
        return None
    await _close_checkout(bot, CheckoutMessages(core.redis), event)
    screen = await notice_for(core, event)
    if screen is None:
        return None
    if isinstance(event, TurnCame | QueueSoldOut):
        await _close_place(bot, core, event)
    return await send_notice(bot, event.user_id, screen)


async def notice_for(core: BookingCore, event: Event) -> Screen | None:
    """The message for an event, with the show and booking details looked up; None if none is due."""
    now = utc_now()
    if isinstance(event, OfferMade):
        details, labels = await _show(core, event.show_id, event.seat_ids)
        return notices.offer_made(details, event.show_id, labels, len(event.seat_ids), event.expires_at, now)
    if isinstance(event, OfferExpired):
        details, _labels = await _show(core, event.show_id, ())
        return notices.offer_expired(details, event.show_id)
    if isinstance(event, HoldExpired):
        details, labels = await _show(core, event.show_id, event.seat_ids)
        return notices.hold_expired(details, event.show_id, labels, len(event.seat_ids))
    if isinstance(event, BookingConfirmed):
        return notices.booking_confirmed(await core.bookings.ticket_view(event.booking_id))
    if isinstance(event, TurnCame):
        details, _labels = await _show(core, event.show_id, ())
        return notices.turn_came(details, event.show_id, event.ends_at, now)
    if isinstance(event, QueueSoldOut):
        details, _labels = await _show(core, event.show_id, ())
        return notices.queue_sold_out(details, event.show_id, event.party)
    if isinstance(event, QueueMoved):
        return None  # an edit of the place already shown (_refresh_place), never a new message
    if event.reason == CANCELLED_BY_CUSTOMER:
        return None  # the cancel screen already said so, in place
    upcoming, past = await core.bookings.list_tickets(event.user_id)
    ticket = next((t for t in [*upcoming, *past] if t.booking_id == event.booking_id), None)
    return notices.refund_started(ticket, event.reason)


async def _refresh_place(bot: Bot, core: BookingCore, event: QueueMoved) -> None:
    """Edit the message showing the user's queue place, at most once a minute per chat (best effort)."""
    shown = await QueueMessages(core.redis).to_edit(event.show_id, event.user_id)
    if shown is None:
        return
    details = await core.catalogue.show_details(event.show_id)
    screen = place_screen(details, event.show_id, event.position, event.wait_minutes)
    try:
        await bot.edit_message_text(
            screen.text,
            chat_id=shown.chat_id,
            message_id=shown.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=screen.keyboard,
            **bulk(bot),
        )
    except TelegramError as error:
        # Deleted, or already showing the same: the next refresh tries again.
        log.info("queue place of user %s not refreshed: %s", event.user_id, error)


async def _close_place(bot: Bot, core: BookingCore, event: TurnCame | QueueSoldOut) -> None:
    """Edit the message showing the user's queue place into a pointer to the news sent below it (a new
    message, which alerts the user; an edit makes no sound). At once, not held back by the minute's
    ration, and it takes that chat's minute; best effort: the news goes out whatever happens here."""
    shown = await QueueMessages(core.redis).take(event.show_id, event.user_id)
    if shown is None:
        return
    details = await core.catalogue.show_details(event.show_id)
    screen = place_passed(details, turn=isinstance(event, TurnCame))

    async def edit() -> Message | bool:
        return await bot.edit_message_text(
            screen.text,
            chat_id=shown.chat_id,
            message_id=shown.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=screen.keyboard,
            **bulk(bot),
        )

    try:
        await _waiting_out_floods(edit)
    except TelegramError as error:
        log.info("queue place of user %s not closed for %r: %s", event.user_id, event, error)


async def hold_expiring_notice(core: BookingCore, hold: Hold) -> Screen:
    """The reminder shortly before `hold` lapses."""
    details, labels = await _show(core, hold.show_id, hold.seat_ids)
    return notices.hold_expiring(
        details, hold.show_id, labels, len(hold.seat_ids), hold.expires_at, utc_now(), hold.is_offer
    )


async def send_notice(bot: Bot, chat_id: int, screen: Screen) -> Message | None:
    """Send a notice, waiting out flood control; None when the user blocked the bot or the chat is gone."""
    try:
        return await _waiting_out_floods(lambda: send(bot, chat_id, screen, **bulk(bot)))
    except (Forbidden, BadRequest) as refused:
        log.info("notice to chat %s not delivered: %s", chat_id, refused.message)
        return None


async def _waiting_out_floods(call: Callable[[], Awaitable[T]]) -> T:
    """`call`, tried again after each flood-control answer (429) it meets, up to FLOOD_RETRIES times."""
    for _attempt in range(FLOOD_RETRIES):
        try:
            return await call()
        except RetryAfter as flood:
            await asyncio.sleep(retry_after_seconds(flood) + 0.1)
    return await call()


async def _close_checkout(bot: Bot, messages: CheckoutMessages, event: Event) -> None:
    """Take the Pay button off a checkout that can no longer be paid (best effort)."""
    if isinstance(event, BookingConfirmed | RefundStarted):
        shown = await messages.take_by_booking(event.booking_id)
        kind = "paid" if isinstance(event, BookingConfirmed) else "refund"
    elif isinstance(event, HoldExpired):
        shown = await messages.take_by_hold(event.show_id, event.user_id)
        kind = "expired"
    else:
        return
    if shown is None:
        return
    try:
        await bot.edit_message_text(
            closed_checkout_text(kind),
            chat_id=shown.chat_id,
            message_id=shown.message_id,
            parse_mode=ParseMode.HTML,
            **bulk(bot),
        )
    except TelegramError as error:
        # Edited meanwhile into another screen, deleted, or the same text already: nothing to close.
        log.info("checkout message of booking %s not closed: %s", shown.booking_id, error)


async def _show(
    core: BookingCore, show_id: int, seat_ids: tuple[int, ...]
) -> tuple[ShowDetails | None, list[str]]:
    details = await core.catalogue.show_details(show_id)
    layout = await core.catalogue.hall_layout(show_id) if seat_ids else None
    return details, notices.seat_labels(layout, seat_ids)

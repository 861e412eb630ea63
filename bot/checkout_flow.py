"""Opening the checkout of a user's hold: the booking, the provider's page, and the screen saying so.

The CHECKOUT button and the seat-map Mini App's Pay both come here, so both start the same booking at
the same provider and put the same checkout message in the chat; each then shows the screen its own way
(in place of the pressed message, or as a new message).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from telegram import Message

from booking_core.bookings.customers import get_or_create_customer
from booking_core.bookings.errors import CheckoutRefusal, CheckoutRefused
from booking_core.holds.types import Hold
from booking_core.models import utc_now
from booking_core.payments.port import PaymentError
from bot.core import BookingCore
from bot.memory.checkout_messages import CheckoutMessage, CheckoutMessages
from bot.memory.provider_checkouts import expire_checkouts
from bot.views.checkout import (
    checkout_screen,
    hold_gone_screen,
    provider_down_screen,
    refused_screen,
    seat_lines,
)
from bot.views.format import format_money
from bot.views.screen import Screen

log = logging.getLogger(__name__)

# Not a CheckoutRefusal: the booking exists, but the payment provider did not open its page.
PROVIDER_UNAVAILABLE = "provider_unavailable"
Background = Callable[[Coroutine[Any, Any, None]], object]


@dataclass(frozen=True)
class Payer:
    """Who pays: the Telegram user and the private chat the checkout message goes to."""

    user_id: int
    chat_id: int
    full_name: str


@dataclass(frozen=True)
class CheckoutOpened:
    """A booking awaiting payment, with the screen carrying its payment link."""

    screen: Screen
    booking_id: int
    hold: Hold


@dataclass(frozen=True)
class CheckoutNotOpened:
    """Why no payment link came: a CheckoutRefusal code or PROVIDER_UNAVAILABLE, and the screen saying so."""

    reason: str
    screen: Screen


async def open_checkout(
    core: BookingCore, hold: Hold, payer: Payer, background: Background
) -> CheckoutOpened | CheckoutNotOpened:
    """Turn the hold into a booking awaiting payment and open the provider's checkout for it.

    `background` runs the closing of checkouts this one supersedes, off the caller's path.
    """
    show_id = hold.show_id
    customer = await get_or_create_customer(core.sessions, payer.user_id, payer.chat_id, payer.full_name)
    started = await core.bookings.start_checkout(hold)
    details = await core.catalogue.show_details(show_id)
    if isinstance(started, CheckoutRefused):
        log.info("checkout of show %s for user %s refused: %s", show_id, payer.user_id, started.reason)
        price = None
        if started.amount_minor is not None and started.currency:
            price = format_money(started.amount_minor, started.currency)
        screen = refused_screen(started.reason, details, show_id, cinema_price=price)
        return CheckoutNotOpened(started.reason, screen)
    if details is None:
        return CheckoutNotOpened(CheckoutRefusal.SHOW_UNAVAILABLE, hold_gone_screen(None, show_id))
    provider = core.payment_provider
    if started.superseded_checkouts:
        background(expire_checkouts(provider, started.superseded_checkouts))
    try:
        opened = await provider.create_checkout(started.checkout_request())
        await core.bookings.record_checkout(started.booking_id, provider.name, opened.checkout_id, opened.url)
    except PaymentError as error:
        log.warning("checkout of booking %s not opened at %s: %s", started.booking_id, provider.name, error)
        screen = provider_down_screen(started.booking_id, details, hold.expires_at, utc_now())
        return CheckoutNotOpened(PROVIDER_UNAVAILABLE, screen)
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
    return CheckoutOpened(screen, started.booking_id, hold)


async def remember_checkout_message(redis: aioredis.Redis, opened: CheckoutOpened, message: Message) -> None:
    """Note which chat message shows the checkout, so that paying or lapsing can close it later."""
    hold = opened.hold
    shown = CheckoutMessage(
        opened.booking_id, hold.show_id, hold.user_id, message.chat_id, message.message_id
    )
    await CheckoutMessages(redis).remember(shown)

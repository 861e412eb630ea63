"""The waitlist: join with a seat count, see your place in line, leave; accept or decline an offer."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Update

from booking_core.holds.types import Hold
from booking_core.holds.waitlist import JoinRefusal, JoinRefused, WaitlistPosition
from bot import context as ctx
from bot.codec import Action
from bot.context import BotApplication, BotContext
from bot.handlers import checkout
from bot.handlers.seats import hall_or_gone
from bot.replies import answer, pressed
from bot.routing import on_button
from bot.seat_map.choice import seat_labels
from bot.seat_map.screen import ShowHall, present_seat_map, show_over_map
from bot.views.hold_refusals import join_refusal
from bot.views.seat_keyboard import HOME_BLOCK
from bot.views.waitlist import join_screen, notice_screen, offer_screen, position_screen


async def _hall(update: Update, context: BotContext) -> tuple[ShowHall, tuple[int, ...]] | None:
    """The show the pressed button is about, with the button's arguments; None (answered) if it is gone."""
    callback = pressed(update)
    if callback is None:
        return None
    hall = await hall_or_gone(update, context, callback.args[0])
    return (hall, callback.args) if hall is not None else None


async def _show_offer(update: Update, context: BotContext, hall: ShowHall, offer: Hold) -> None:
    labels = seat_labels(hall.layout, offer.seat_ids)
    await show_over_map(
        update, context, offer_screen(hall.details, labels, offer.expires_at, datetime.now(UTC))
    )


async def join(update: Update, context: BotContext) -> None:
    """The WAITLIST_JOIN button: with count 0 ask how many seats, else join the line for that many."""
    found = await _hall(update, context)
    if found is None:
        return
    hall, (show_id, count, together) = found
    settings = ctx.settings(context)
    if count == 0:
        await answer(update)
        screen = join_screen(
            hall.details,
            together=bool(together),
            max_seats=settings.MAX_SEATS_PER_BOOKING,
            offer_minutes=max(1, settings.OFFER_SECONDS // 60),
        )
        await show_over_map(update, context, screen)
        return
    outcome = await ctx.core(context).holds.waitlist.join(
        show_id, ctx.user_id(update), count, together=bool(together)
    )
    if isinstance(outcome, WaitlistPosition):
        await answer(update, "You are on the waitlist.")
        await show_over_map(update, context, position_screen(hall.details, outcome))
    elif isinstance(outcome, Hold):
        await answer(update, "Seats came free for you at once!")
        await _show_offer(update, context, hall, outcome)
    elif isinstance(outcome, JoinRefused):
        await answer(
            update, join_refusal(outcome.reason, max_seats=settings.MAX_SEATS_PER_BOOKING), alert=True
        )
        await _after_refusal(update, context, hall, outcome.reason)
    else:
        await answer(update)
        await show_over_map(update, context, notice_screen(hall.details, "You are not on the waitlist."))


async def _after_refusal(update: Update, context: BotContext, hall: ShowHall, reason: JoinRefusal) -> None:
    """The fresh screen after a refused join: the offer to answer, or the seat map."""
    if reason == JoinRefusal.OFFERED:
        offer = await ctx.core(context).holds.current_hold(hall.details.show_id, ctx.user_id(update))
        if offer is not None and offer.is_offer:
            await _show_offer(update, context, hall, offer)
            return
    await present_seat_map(update, context, hall, HOME_BLOCK)


async def status(update: Update, context: BotContext) -> None:
    """The WAITLIST_STATUS button: your place in line and why there is no offer yet."""
    found = await _hall(update, context)
    if found is None:
        return
    hall, (show_id,) = found
    user = ctx.user_id(update)
    await answer(update)
    position = await ctx.core(context).holds.waitlist.position(show_id, user)
    if position is not None:
        await show_over_map(update, context, position_screen(hall.details, position))
        return
    offer = await ctx.core(context).holds.current_hold(show_id, user)
    if offer is not None and offer.is_offer:
        await _show_offer(update, context, hall, offer)
        return
    await show_over_map(
        update, context, notice_screen(hall.details, "You are not on the waitlist for this show.")
    )


async def leave(update: Update, context: BotContext) -> None:
    """The WAITLIST_LEAVE button: leave the line."""
    found = await _hall(update, context)
    if found is None:
        return
    hall, (show_id,) = found
    left = await ctx.core(context).holds.waitlist.leave(show_id, ctx.user_id(update))
    notice = "You left the waitlist." if left else "You were not on the waitlist any more."
    await answer(update, notice)
    await show_over_map(update, context, notice_screen(hall.details, notice))


async def accept_offer(update: Update, context: BotContext) -> None:
    """The OFFER_ACCEPT button: the offered seats, yours, on to paying for them."""
    found = await _hall(update, context)
    if found is None:
        return
    hall, (show_id,) = found
    hold = await ctx.core(context).holds.current_hold(show_id, ctx.user_id(update))
    if hold is None:
        await answer(update, "This offer has expired or was passed on. Here is the seat map now.", alert=True)
        await present_seat_map(update, context, hall, HOME_BLOCK)
        return
    # The checkout handler reads only the show id, which this button carries in the same place.
    await checkout.checkout(update, context)


async def decline_offer(update: Update, context: BotContext) -> None:
    """The OFFER_DECLINE button: pass the offered seats to the next person in line."""
    found = await _hall(update, context)
    if found is None:
        return
    hall, (show_id,) = found
    passed = await ctx.core(context).holds.waitlist.decline(show_id, ctx.user_id(update))
    if passed:
        notice = f"You passed {', '.join(seat_labels(hall.layout, passed))} on to the next person in line."
        await answer(update, "Offer declined.")
    else:
        notice = "This offer is no longer open: it expired or was already answered."
        await answer(update, notice, alert=True)
    await show_over_map(update, context, notice_screen(hall.details, notice))


def register(application: BotApplication) -> None:
    """Add the waitlist and offer buttons."""
    application.add_handler(on_button(join, Action.WAITLIST_JOIN))
    application.add_handler(on_button(status, Action.WAITLIST_STATUS))
    application.add_handler(on_button(leave, Action.WAITLIST_LEAVE))
    application.add_handler(on_button(accept_offer, Action.OFFER_ACCEPT))
    application.add_handler(on_button(decline_offer, Action.OFFER_DECLINE))

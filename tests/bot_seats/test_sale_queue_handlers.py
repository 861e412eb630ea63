"""A premiere's on-sale queue through the real Application and the Telegram sandbox: listed with its
on-sale time, joined with a party size, the turn announced with a button to the seat map, a sell-out told
with the waitlist offered, and a place on screen refreshed by the workers' pass."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from booking_core.database import SessionFactory
from booking_core.holds.errors import HoldRefusalReason, HoldRefused
from booking_core.holds.types import Hold
from booking_core.models import utc_now
from bot.codec import Action, encode
from bot.memory.queue_messages import QueueMessages
from sandbox.telegram import ChatMessage
from tests.bot_seats.bot_harness import OTHER_USER, USER, SeatBot, action_button, callbacks
from tests.bot_seats.conftest import SeatBotWith
from tests.factories import ShowFixture, make_show
from tests.holds.sales import sell_in_sql
from workers.periodic import admit_queues_once


async def _listing(seat_bot: SeatBot, show_id: int, user: int = USER) -> ChatMessage:
    """A text message with the show's SHOW button, as a listing has it."""
    seat_bot.telegram.add_user(user)
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton("20:00", callback_data=encode(Action.SHOW, show_id, 0))]]
    )
    await seat_bot.application.bot.send_message(user, "Shows today", reply_markup=markup)
    return [m for m in seat_bot.telegram.chat(user) if m.from_bot][-1]


def _latest(seat_bot: SeatBot, user: int = USER) -> ChatMessage:
    return [m for m in seat_bot.telegram.chat(user) if m.from_bot][-1]


async def test_before_the_sale_the_map_offers_the_queue_and_a_place_is_kept(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    # Given a premiere on sale in an hour, with a queue
    show = await make_show(
        sessions, rows=1, seats_per_row=6, on_sale_at=utc_now() + timedelta(hours=1), sale_queue=True
    )
    listing = await _listing(seat_bot, show.show_id)
    # when the user taps its time, they see the queue, not a seat map
    await seat_bot.press(listing.message_id, encode(Action.SHOW, show.show_id, 0))
    screen = _latest(seat_bot)
    assert "You are not in the queue" in (screen.text or "")
    await seat_bot.press(screen.message_id, action_button(screen, Action.QUEUE_JOIN))
    asking = _latest(seat_bot)
    assert "How many seats do you want?" in (asking.text or "") and "On sale at" in (asking.text or "")
    # and joining for 2 takes a place, drawn when the sale opens; joining again keeps it.
    answer = await seat_bot.press(asking.message_id, action_button(asking, Action.QUEUE_JOIN, "2"))
    assert answer.text == "You are in the queue."
    assert "Places are drawn at random" in (_latest(seat_bot).text or "")
    # (a second tap on the old screen)
    again = await seat_bot.press(asking.message_id, encode(Action.QUEUE_JOIN, show.show_id, 2), stale=True)
    assert again.text == "You keep your place in the queue."
    # No seat can be held meanwhile, by any face of the core.
    assert await seat_bot.core.holds.hold(show.show_id, USER, show.seat_ids[:1]) == HoldRefused(
        HoldRefusalReason.NOT_ON_SALE_YET
    )


async def test_the_turn_comes_with_a_button_to_the_map_and_a_sell_out_is_told(
    seat_bot_with: SeatBotWith, sessions: SessionFactory
) -> None:
    async with seat_bot_with(SALE_QUEUE_TURNS=1) as seat_bot:
        await _turn_then_sell_out(seat_bot, sessions)


async def _queued_behind_another(
    seat_bot: SeatBot, sessions: SessionFactory, *, seats: int, party: int
) -> ShowFixture:
    """A premiere whose sale opened a moment ago, another person queued for one seat, then the user for
    `party` (joining from the show list), and one pass of the workers' admission run."""
    show = await make_show(
        sessions, rows=1, seats_per_row=seats, on_sale_at=utc_now() - timedelta(seconds=1), sale_queue=True
    )
    seat_bot.telegram.add_user(OTHER_USER)
    await seat_bot.core.holds.sale_queue.join(show.show_id, OTHER_USER, 1)
    listing = await _listing(seat_bot, show.show_id)
    await seat_bot.press(listing.message_id, encode(Action.QUEUE_JOIN, show.show_id, party), stale=True)
    await admit_queues_once(seat_bot.core.sessions, seat_bot.core.holds.sale_queue)
    return show


async def _turn_then_sell_out(seat_bot: SeatBot, sessions: SessionFactory) -> None:
    core = seat_bot.core
    # Given a premiere whose sale opened a moment ago, another person queued, then the user, when the
    # workers' pass admits one person at a time (SALE_QUEUE_TURNS=1)
    show = await _queued_behind_another(seat_bot, sessions, seats=2, party=3)
    first, second, party = OTHER_USER, USER, 3
    # the first is told it is their turn, with a button straight to the seat map
    turn = await seat_bot.telegram.wait_for(
        first, lambda chat: next((m for m in chat if m.from_bot and "your turn" in (m.text or "")), None)
    )
    await seat_bot.press(turn.message_id, action_button(turn, Action.SHOW, "Choose seats"), first)
    assert seat_bot.map_message(first).photo_file_id
    # and when they buy every seat, the other is told of the sell-out, offered the waitlist for their party.
    hold = await core.holds.hold(show.show_id, first, show.seat_ids)
    assert isinstance(hold, Hold)
    await sell_in_sql(sessions, show.show_id, show.seat_ids)
    await core.holds.mark_sold(show.show_id, show.seat_ids, hold.token)
    await admit_queues_once(core.sessions, core.holds.sale_queue)
    sold_out = await seat_bot.telegram.wait_for(
        second, lambda chat: next((m for m in chat if m.from_bot and "Sold out" in (m.text or "")), None)
    )
    joins = [c.args for _text, c in callbacks(sold_out) if c.action == Action.WAITLIST_JOIN]
    assert joins == [(show.show_id, party, 0)]


async def test_the_turn_comes_as_a_new_message_and_the_place_on_screen_points_at_it(
    seat_bot_with: SeatBotWith, sessions: SessionFactory
) -> None:
    async with seat_bot_with(SALE_QUEUE_TURNS=1, SALE_QUEUE_TURN_SECONDS=1) as seat_bot:
        core = seat_bot.core
        # Given a premiere on sale a moment ago, one person ahead of the user, whose turn the pass gave
        show = await _queued_behind_another(seat_bot, sessions, seats=4, party=2)
        # and the user looking at their place, just refreshed (that chat's edit of the minute is used up)
        place = _latest(seat_bot)
        await seat_bot.press(place.message_id, action_button(place, Action.QUEUE_STATUS))
        place = _latest(seat_bot)
        assert "You are number 1 in the queue" in (place.text or "")
        assert await QueueMessages(core.redis).to_edit(show.show_id, USER) is not None
        sent = len([m for m in seat_bot.telegram.chat(USER) if m.from_bot])
        # when the one ahead lets their window lapse and the pass gives the user their turn,
        await asyncio.sleep(1.1)
        await admit_queues_once(core.sessions, core.holds.sale_queue)
        # then the turn comes at once as a new message (one that alerts), with its button to the seat map,
        turn = await seat_bot.telegram.wait_for(
            USER, lambda chat: next((m for m in chat if "It's your turn" in (m.text or "")), None)
        )
        assert turn.message_id != place.message_id
        assert len([m for m in seat_bot.telegram.chat(USER) if m.from_bot]) == sent + 1
        # and the place on screen, though its minute was used, now points at it: no stale place is left.
        passed = next(m for m in seat_bot.telegram.chat(USER) if m.message_id == place.message_id)
        assert "Your turn came: choose seats from the message below" in (passed.text or "")
        assert not passed.reply_markup
        await seat_bot.press(turn.message_id, action_button(turn, Action.SHOW, "Choose seats"))
        assert seat_bot.map_message().photo_file_id

"""The waitlist through the real Application and the Telegram sandbox: join, place in line, leave, offers."""

from __future__ import annotations

from booking_core.database import SessionFactory
from booking_core.holds.types import Hold
from booking_core.holds.waitlist import WaitlistPosition
from bot.codec import Action
from sandbox.telegram import ChatMessage
from tests.bot_seats.bot_harness import OTHER_USER, USER, SeatBot, action_button, callbacks
from tests.factories import make_show


async def _sold_out_for_others(
    seat_bot: SeatBot, sessions: SessionFactory, seats: int = 4
) -> tuple[int, Hold]:
    """A one-row show whose every seat someone else holds."""
    show = await make_show(sessions, rows=1, seats_per_row=seats)
    taken = await seat_bot.core.holds.hold(show.show_id, OTHER_USER, show.seat_ids)
    assert isinstance(taken, Hold)
    return show.show_id, taken


def _offer_message(messages: list[ChatMessage]) -> ChatMessage | None:
    """The newest bot message with an Accept button."""
    for message in reversed(messages):
        if message.from_bot and any(c.action == Action.OFFER_ACCEPT for _t, c in callbacks(message)):
            return message
    return None


async def _join_for_two(seat_bot: SeatBot, show_id: int) -> ChatMessage:
    """The user opens the map, taps Join the waitlist, then 2 (side by side)."""
    message = await seat_bot.open_map(show_id)
    await seat_bot.press(message.message_id, action_button(message, Action.WAITLIST_JOIN, "Join"))
    await seat_bot.press(message.message_id, f"v1:wj:{show_id}:2:1")
    return seat_bot.map_message()


async def _offered_two(seat_bot: SeatBot, sessions: SessionFactory) -> tuple[int, ChatMessage]:
    """The user joined the waitlist for two in the chat, and the other user let every seat go: the show
    and the offer message the user got."""
    show_id, taken = await _sold_out_for_others(seat_bot, sessions)
    await _join_for_two(seat_bot, show_id)
    await seat_bot.core.holds.release(show_id, taken.token)
    return show_id, await seat_bot.telegram.wait_for(USER, _offer_message)


async def test_join_see_your_place_and_leave(seat_bot: SeatBot, sessions: SessionFactory) -> None:
    # Given a show whose seats are all held by someone else
    show_id, _taken = await _sold_out_for_others(seat_bot, sessions)
    message = await seat_bot.open_map(show_id)
    picture = message.photo_file_id
    # When the user taps Join the waitlist, they are asked how many seats, over the same hall picture
    await seat_bot.press(message.message_id, action_button(message, Action.WAITLIST_JOIN, "Join"))
    asking = seat_bot.map_message()
    assert asking.photo_file_id == picture and asking.caption is not None
    assert "How many seats do you need?" in asking.caption and "Side by side: yes" in asking.caption
    assert [text for text, c in callbacks(asking) if c.action == Action.WAITLIST_JOIN][:3] == ["1", "2", "3"]
    # And when they tap 2, they are first in line, told why they wait
    answer = await seat_bot.press(message.message_id, action_button(asking, Action.WAITLIST_JOIN, "2"))
    assert answer.text == "You are on the waitlist."
    waiting = seat_bot.map_message()
    assert waiting.caption is not None
    assert (
        "You are number 1 on the waitlist for 2 seats side by side (nobody is ahead of you)."
        in waiting.caption
    )
    assert "No seat is free right now." in waiting.caption
    position = await seat_bot.core.holds.waitlist.position(show_id, USER)
    assert isinstance(position, WaitlistPosition) and position.seats == 2 and position.together
    # The map now offers their place in line instead of joining
    await seat_bot.press(message.message_id, action_button(waiting, Action.SHOW, "Seat map"))
    assert action_button(seat_bot.map_message(), Action.WAITLIST_STATUS)
    await seat_bot.press(message.message_id, action_button(seat_bot.map_message(), Action.WAITLIST_STATUS))
    assert "number 1" in (seat_bot.map_message().caption or "")
    # When they leave, they are off the list
    answer = await seat_bot.press(
        message.message_id, action_button(seat_bot.map_message(), Action.WAITLIST_LEAVE)
    )
    assert answer.text == "You left the waitlist."
    assert "You left the waitlist." in (seat_bot.map_message().caption or "")
    assert await seat_bot.core.holds.waitlist.position(show_id, USER) is None
    assert len([m for m in seat_bot.telegram.chat(USER) if m.from_bot]) == 1


async def test_holding_seats_keeps_you_off_the_waitlist(seat_bot: SeatBot, sessions: SessionFactory) -> None:
    show = await make_show(sessions, rows=1, seats_per_row=4)
    assert isinstance(await seat_bot.core.holds.hold(show.show_id, OTHER_USER, show.seat_ids[:3]), Hold)
    assert isinstance(await seat_bot.core.holds.hold(show.show_id, USER, show.seat_ids[3:]), Hold)
    message = await seat_bot.open_map(show.show_id)
    answer = await seat_bot.press(message.message_id, f"v1:wj:{show.show_id}:2:1", stale=True)
    assert answer.show_alert and answer.text is not None and "release them before joining" in answer.text
    assert await seat_bot.core.holds.waitlist.position(show.show_id, USER) is None
    assert action_button(seat_bot.map_message(), Action.CHECKOUT)


async def test_an_offer_arrives_as_a_message_and_accept_goes_to_checkout(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    # When the other user lets their seats go, the first waiter is offered two of them
    show_id, offer = await _offered_two(seat_bot, sessions)
    held = await seat_bot.core.holds.current_hold(show_id, USER)
    assert held is not None and held.is_offer and len(held.seat_ids) == 2
    # When they accept, the offer message becomes the checkout of those seats
    await seat_bot.press(offer.message_id, action_button(offer, Action.OFFER_ACCEPT))
    checkout = next(m for m in reversed(seat_bot.telegram.chat(USER)) if m.from_bot and m.text)
    assert checkout.text is not None and "Your booking" in checkout.text
    assert any("Pay" in button["text"] and "url" in button for button in checkout.buttons())


async def test_declining_an_offer_passes_the_seats_on(seat_bot: SeatBot, sessions: SessionFactory) -> None:
    show_id, offer = await _offered_two(seat_bot, sessions)
    held = await seat_bot.core.holds.current_hold(show_id, USER)
    assert held is not None
    answer = await seat_bot.press(offer.message_id, action_button(offer, Action.OFFER_DECLINE))
    assert answer.text == "Offer declined."
    assert await seat_bot.core.holds.current_hold(show_id, USER) is None
    assert "on to the next person in line" in (offer.text or "")
    # Pressing Decline again on the old message is answered plainly, not with an error
    answer = await seat_bot.press(offer.message_id, f"v1:od:{show_id}", stale=True)
    assert answer.show_alert and answer.text is not None and "no longer open" in answer.text


async def test_accepting_an_offer_that_lapsed_shows_the_seat_map(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    show_id, taken = await _sold_out_for_others(seat_bot, sessions)
    await _join_for_two(seat_bot, show_id)
    await seat_bot.core.holds.release(show_id, taken.token)
    offer = await seat_bot.telegram.wait_for(USER, _offer_message)
    assert await seat_bot.core.holds.waitlist.decline(show_id, USER)  # gone, as if it had lapsed
    answer = await seat_bot.press(offer.message_id, action_button(offer, Action.OFFER_ACCEPT))
    assert answer.show_alert and answer.text is not None and "expired or was passed on" in answer.text
    assert "Tap free seats to hold them" in (seat_bot.map_message().caption or "")


async def test_joining_when_seats_are_free_makes_the_offer_at_once(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    show = await make_show(sessions, rows=1, seats_per_row=4)
    assert isinstance(await seat_bot.core.holds.hold(show.show_id, OTHER_USER, show.seat_ids[:2]), Hold)
    message = await seat_bot.open_map(show.show_id)
    answer = await seat_bot.press(message.message_id, f"v1:wj:{show.show_id}:2:1", stale=True)
    assert answer.text == "Seats came free for you at once!"
    caption = seat_bot.map_message().caption or ""
    assert "Seats for you from the waitlist!" in caption and "A3, A4" in caption
    held = await seat_bot.core.holds.current_hold(show.show_id, USER)
    assert held is not None and held.is_offer and held.seat_ids == tuple(show.seat_ids[2:])


async def _scattered_singles(seat_bot: SeatBot, sessions: SessionFactory, rows: int) -> int:
    """A show after a rush: every other seat of its `rows` standard rows held, 8 wheelchair spaces free."""
    show = await make_show(sessions, rows=rows + 1, seats_per_row=8, wheelchair_seats=8)
    for row in range(rows):
        every_other = show.seat_ids[row * 8 : row * 8 + 8 : 2]
        assert isinstance(
            await seat_bot.core.holds.hold(show.show_id, OTHER_USER + 1 + row, every_other), Hold
        )
    return show.show_id


async def test_best_n_without_a_block_offers_the_waitlist_for_n_side_by_side(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    # Given 20 scattered single seats (more than MAX_SEATS_PER_BOOKING) and 8 free wheelchair spaces
    show_id = await _scattered_singles(seat_bot, sessions, rows=5)
    message = await seat_bot.open_map(show_id)
    assert [t for t, c in callbacks(message) if c.action == Action.WAITLIST_JOIN] == []
    # When the user asks for the best 2
    answer = await seat_bot.press(message.message_id, action_button(message, Action.BEST, "✨2"))
    # Then they hear there are none side by side, and the map offers the waitlist for 2 side by side
    assert answer.text is not None and "no 2 free seats side by side" in answer.text
    assert "waitlist" in answer.text
    refreshed = seat_bot.map_message()
    join = action_button(refreshed, Action.WAITLIST_JOIN, "2 side by side")
    assert join == f"v1:wj:{show_id}:2:1"
    # And one tap puts them in line for 2 seats together
    joined = await seat_bot.press(refreshed.message_id, join)
    assert joined.text == "You are on the waitlist."
    position = await seat_bot.core.holds.waitlist.position(show_id, USER)
    assert isinstance(position, WaitlistPosition) and (position.seats, position.together) == (2, True)


async def test_wheelchair_spaces_do_not_count_as_free_seats_for_the_waitlist(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    # Given 4 scattered single seats and 8 free wheelchair spaces: 12 free, but only 4 for anyone's pick
    show_id = await _scattered_singles(seat_bot, sessions, rows=1)
    # When the user opens the map, the waitlist is offered (fewer than MAX_SEATS_PER_BOOKING seats free)
    message = await seat_bot.open_map(show_id)
    assert action_button(message, Action.WAITLIST_JOIN, "Join the waitlist")
    # And asking for the best 5 says how many seats are really free
    answer = await seat_bot.press(message.message_id, action_button(message, Action.BEST, "✨5"))
    assert answer.text is not None and answer.text.startswith("Only 4 seat(s) are free for this show.")
    assert action_button(seat_bot.map_message(), Action.WAITLIST_JOIN, "5 side by side")


async def test_cancel_declines_an_offer_and_passes_the_seats_on(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    # Given a user offered two seats after joining the waitlist in the chat
    show_id, _offer = await _offered_two(seat_bot, sessions)
    assert (await seat_bot.core.holds.current_hold(show_id, USER)) is not None
    # When they send /cancel
    await seat_bot.telegram.send_text(USER, "/cancel")
    done = await seat_bot.telegram.wait_for(USER, _cancelled)
    # Then the offer is declined (an offer is no held seats: /cancel finds it by the waitlist joined)
    assert "released" in (done.text or "")
    assert await seat_bot.core.holds.current_hold(show_id, USER) is None


def _cancelled(messages: list[ChatMessage]) -> ChatMessage | None:
    """The bot's answer to /cancel that let something go."""
    return next((m for m in reversed(messages) if m.from_bot and "released" in (m.text or "")), None)

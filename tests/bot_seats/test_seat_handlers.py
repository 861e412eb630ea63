"""The seat map through the real Application and the Telegram sandbox, over real Redis and SQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select, update

from booking_core.catalogue.demo import seed_demo
from booking_core.database import SessionFactory
from booking_core.holds.types import Hold
from booking_core.models import Hall, Show, utc_now
from bot.codec import Action
from sandbox.telegram import ChatMessage
from tests.bot_seats.bot_harness import (
    OTHER_USER,
    USER,
    SeatBot,
    action_button,
    callbacks,
    seat_button,
    shown_seats,
)
from tests.bot_seats.conftest import SeatBotWith
from tests.factories import make_show


async def test_a_show_opens_as_the_hall_picture_with_one_block_of_seats(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    # Given a hall of two sections, 6 seats each side of an aisle
    show = await make_show(sessions, rows=5, seats_per_row=12, aisle_after=6)
    # When the user taps the show in a listing
    message = await seat_bot.open_map(show.show_id)
    # Then the listing is replaced by one photo of the whole hall, captioned, with one block's keyboard
    assert [m.kind for m in seat_bot.telegram.chat(USER) if m.from_bot] == ["photo"]
    assert message.caption is not None and " of 2 · rows A–E · seats " in message.caption
    assert "Tap free seats to hold them" in message.caption
    picture = seat_bot.picture(message)
    assert picture.format == "PNG" and picture.size[0] >= 300
    rows = message.reply_markup["inline_keyboard"]  # type: ignore[index]
    assert sum(len(row) for row in rows) <= 100 and all(len(row) <= 8 for row in rows)
    assert len(shown_seats(message)) == 30
    assert rows[0][0]["text"] == "🎬 screen this way 🎬" and [row[0]["text"] for row in rows[1:6]] == list(
        "ABCDE"
    )


async def test_tapping_a_seat_holds_it_and_tapping_again_lets_it_go(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    show = await make_show(sessions, rows=3, seats_per_row=6)
    message = await seat_bot.open_map(show.show_id)
    seat = show.seat_ids[8]  # B3
    text, data = seat_button(message, seat)
    assert text == "3"
    # When the user taps it, the seat is held for them at once and the map says so, in place
    await seat_bot.press(message.message_id, data)
    hold = await seat_bot.core.holds.current_hold(show.show_id, USER)
    assert hold is not None and hold.seat_ids == (seat,)
    refreshed = seat_bot.map_message()
    assert refreshed.message_id == message.message_id and refreshed.edit_count == 1
    assert seat_button(refreshed, seat)[0] == "✅"
    assert refreshed.caption is not None and "Your seats: B3 · 12.00 EUR" in refreshed.caption
    assert "min left)" in refreshed.caption
    assert ("💳 Pay 12.00 EUR", Action.CHECKOUT) in [(t, c.action) for t, c in callbacks(refreshed)]
    # And the tap cost no picture: the caption and keyboard changed, the hall picture stayed
    assert refreshed.photo_file_id == message.photo_file_id
    assert not seat_bot.telegram.calls_to("editMessageMedia")
    assert len(seat_bot.telegram.calls_to("editMessageCaption")) == 1
    # When they tap it again, it is theirs no more
    answer = await seat_bot.press(message.message_id, seat_button(refreshed, seat)[1])
    assert answer.text == "B3 released."
    assert await seat_bot.core.holds.current_hold(show.show_id, USER) is None
    assert seat_button(seat_bot.map_message(), seat)[0] == "3"


async def test_a_seat_taken_since_the_map_was_drawn_cannot_be_picked(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    show = await make_show(sessions, rows=3, seats_per_row=6)
    message = await seat_bot.open_map(show.show_id)
    held_elsewhere, sold = show.seat_ids[7], show.seat_ids[9]
    # Given someone else holds one seat and another is sold after the map was drawn
    assert isinstance(await seat_bot.core.holds.hold(show.show_id, OTHER_USER, [held_elsewhere]), Hold)
    await seat_bot.core.holds.mark_sold(show.show_id, [sold], None)
    # When the user taps the held one (still shown free), they get an alert and a fresh map
    answer = await seat_bot.press(message.message_id, seat_button(message, held_elsewhere)[1])
    assert (
        answer.show_alert and answer.text is not None and "B2 was just taken by someone else" in answer.text
    )
    refreshed = seat_bot.map_message()
    assert seat_button(refreshed, held_elsewhere)[0] == "✖" and seat_button(refreshed, sold)[0] == "✖"
    # And the sold one, from the stale map, is refused too
    answer = await seat_bot.press(message.message_id, seat_button(message, sold)[1])
    assert answer.show_alert and answer.text is not None and "B4 is already sold" in answer.text
    assert await seat_bot.core.holds.current_hold(show.show_id, USER) is None
    other = await seat_bot.core.holds.current_hold(show.show_id, OTHER_USER)
    assert other is not None and other.seat_ids == (held_elsewhere,)


async def test_best_seats_holds_the_best_block_side_by_side(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    show = await make_show(sessions, rows=5, seats_per_row=8)
    message = await seat_bot.open_map(show.show_id)
    answer = await seat_bot.press(message.message_id, action_button(message, Action.BEST, "✨3"))
    hold = await seat_bot.core.holds.current_hold(show.show_id, USER)
    # The middle row, the middle three seats (C4-C6 or C3-C5: both are as central)
    assert hold is not None and len(hold.seat_ids) == 3
    assert set(hold.seat_ids) <= set(show.seat_ids[16:24])
    assert hold.seat_ids[-1] - hold.seat_ids[0] == 2
    assert answer.text is not None and answer.text.startswith("Held C")
    # The map shows the block of the first of them (here 8 seats a row make two blocks of 4)
    refreshed = seat_bot.map_message()
    on_map = [seat for seat in hold.seat_ids if seat in shown_seats(refreshed)]
    assert on_map and on_map[0] == hold.seat_ids[0]
    assert all(seat_button(refreshed, seat)[0] == "✅" for seat in on_map)


async def test_arrows_page_through_the_blocks_in_the_same_message(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    show = await make_show(sessions, rows=4, seats_per_row=12, aisle_after=6)
    message = await seat_bot.open_map(show.show_id)
    before, first_picture = set(shown_seats(message)), message.photo_file_id
    arrow = "▶" if any(text == "▶" for text, _c in callbacks(message)) else "◀"
    await seat_bot.press(message.message_id, action_button(message, Action.SHOW, arrow))
    moved = seat_bot.map_message()
    assert moved.message_id == message.message_id
    assert len([m for m in seat_bot.telegram.chat(USER) if m.from_bot]) == 1
    after = set(shown_seats(moved))
    assert after and not before & after and before | after == set(show.seat_ids)
    assert moved.caption is not None and ("Block 2 of 2" if arrow == "▶" else "Block 1 of 2") in moved.caption
    assert moved.photo_file_id != first_picture  # the picture frames the other block
    # Back again: the picture Telegram already has is sent by its file id, not uploaded again
    await seat_bot.press(message.message_id, action_button(moved, Action.SHOW, "◀" if arrow == "▶" else "▶"))
    back = seat_bot.map_message()
    assert back.photo_file_id == first_picture and set(shown_seats(back)) == before


def block_line(message: ChatMessage) -> str:
    """The caption's line saying which block of the hall the map shows."""
    return next(line for line in (message.caption or "").split("\n") if line.startswith("Block "))


async def test_a_stale_seat_of_another_block_redraws_the_picture_of_its_block(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    # Given a map of two blocks paged on to the other block (its picture frames that block)
    show = await make_show(sessions, rows=4, seats_per_row=12, aisle_after=6)
    message = await seat_bot.open_map(show.show_id)
    opened_block, seat = block_line(message), shown_seats(message)[0]
    stale_data = seat_button(message, seat)[1]
    arrow = "▶" if any(text == "▶" for text, _c in callbacks(message)) else "◀"
    await seat_bot.press(message.message_id, action_button(message, Action.SHOW, arrow))
    paged_block, paged_picture = block_line(seat_bot.map_message()), seat_bot.map_message().photo_file_id
    medias = len(seat_bot.telegram.calls_to("editMessageMedia"))
    # When a seat of the first block is pressed on it (a button the user still saw)
    await seat_bot.press(message.message_id, stale_data, stale=True)
    # Then the seat is held, and the map shows its block with a picture of that block, not the paged one
    hold = await seat_bot.core.holds.current_hold(show.show_id, USER)
    assert hold is not None and hold.seat_ids == (seat,)
    redrawn = seat_bot.map_message()
    assert seat in shown_seats(redrawn) and seat_button(redrawn, seat)[0] == "✅"
    assert block_line(redrawn) == opened_block != paged_block
    assert len(seat_bot.telegram.calls_to("editMessageMedia")) == medias + 1
    assert redrawn.photo_file_id != paged_picture


async def test_a_pick_that_strands_a_single_seat_is_held_with_a_warning(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    show = await make_show(sessions, rows=1, seats_per_row=6)
    a1, a2, a3 = show.seat_ids[:3]
    assert isinstance(await seat_bot.core.holds.hold(show.show_id, OTHER_USER, [a1]), Hold)
    message = await seat_bot.open_map(show.show_id)
    answer = await seat_bot.press(message.message_id, seat_button(message, a3)[1])
    assert not answer.show_alert and answer.text is not None and "leaves A2 as a lone seat" in answer.text
    hold = await seat_bot.core.holds.current_hold(show.show_id, USER)
    assert hold is not None and hold.seat_ids == (a3,)
    caption = seat_bot.map_message().caption
    assert caption is not None and "⚠️ Your choice leaves A2 as a lone seat" in caption
    # A pick next to the taken seat strands nothing
    answer = await seat_bot.press(message.message_id, seat_button(seat_bot.map_message(), a2)[1])
    assert answer.text is None


async def test_a_show_closed_since_the_map_was_drawn_gets_an_alert_and_a_closed_map(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    show = await make_show(sessions, rows=2, seats_per_row=4)
    message = await seat_bot.open_map(show.show_id)
    async with sessions() as session:
        await session.execute(update(Show).where(Show.id == show.show_id).values(on_sale=False))
        await session.commit()
    await seat_bot.core.holds.forget_inventory(show.show_id)
    answer = await seat_bot.press(message.message_id, seat_button(message, show.seat_ids[1])[1])
    assert answer.show_alert and answer.text is not None and "Booking for this show has closed" in answer.text
    closed = seat_bot.map_message()
    assert [c.action for _t, c in callbacks(closed)] == [Action.MOVIE]
    assert closed.caption is not None and "🚫 Booking for this show has closed." in closed.caption


async def test_release_after_the_hold_expired_says_so_and_redraws(
    seat_bot_with: SeatBotWith, sessions: SessionFactory
) -> None:
    # (two-second holds: time enough to draw the map holding one on a loaded machine)
    async with seat_bot_with(HOLD_SECONDS=2) as seat_bot:
        show = await make_show(sessions, rows=2, seats_per_row=4)
        message = await seat_bot.open_map(show.show_id)
        await seat_bot.press(message.message_id, seat_button(message, show.seat_ids[1])[1])
        holding = seat_bot.map_message()
        release = action_button(holding, Action.RELEASE)
        hold = await seat_bot.core.holds.current_hold(show.show_id, USER)
        assert hold is not None
        await asyncio.sleep((hold.expires_at - datetime.now(UTC)).total_seconds() + 0.1)
        answer = await seat_bot.press(message.message_id, release)
        assert answer.show_alert and answer.text is not None and "You hold no seats" in answer.text
        fresh = seat_bot.map_message()
        assert seat_button(fresh, show.seat_ids[1])[0] == "2"
        assert not any(c.action == Action.RELEASE for _t, c in callbacks(fresh))


async def test_a_forged_seat_of_another_hall_is_refused_plainly(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    show = await make_show(sessions, rows=1, seats_per_row=4)
    elsewhere = await make_show(sessions, rows=1, seats_per_row=4)
    message = await seat_bot.open_map(show.show_id)
    data = f"v1:st:{show.show_id}:{elsewhere.seat_ids[0]}:1"
    answer = await seat_bot.press(message.message_id, data, stale=True)
    assert answer.show_alert and answer.text is not None and "not part of this show" in answer.text
    assert await seat_bot.core.holds.current_hold(show.show_id, USER) is None


async def test_too_many_seats_and_too_many_taps_are_refused_in_words(
    seat_bot_with: SeatBotWith, sessions: SessionFactory
) -> None:
    limits = {"MAX_SEATS_PER_BOOKING": 2, "HOLD_ATTEMPTS_PER_MINUTE": 4}
    async with seat_bot_with(**limits) as seat_bot:
        show = await make_show(sessions, rows=1, seats_per_row=6)
        message = await seat_bot.open_map(show.show_id)
        assert [t for t, c in callbacks(message) if c.action == Action.BEST] == ["✨1", "✨2"]
        a1, a2, a3 = show.seat_ids[:3]
        await seat_bot.press(message.message_id, seat_button(message, a1)[1])
        await seat_bot.press(message.message_id, seat_button(message, a2)[1])
        answer = await seat_bot.press(message.message_id, seat_button(message, a3)[1])
        assert answer.show_alert and answer.text is not None and "at most 2 seats" in answer.text
        hold = await seat_bot.core.holds.current_hold(show.show_id, USER)
        assert hold is not None and hold.seat_ids == (a1, a2)
        # Three attempts so far; the fifth within a minute is one too many
        await seat_bot.press(message.message_id, seat_button(message, a2)[1])
        answer = await seat_bot.press(message.message_id, seat_button(message, a3)[1])
        assert answer.show_alert and answer.text is not None and "a lot of taps" in answer.text


async def test_a_seat_freed_while_people_wait_is_kept_for_the_waitlist(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    # Given all seats held by one user and another waiting for all four side by side
    show = await make_show(sessions, rows=1, seats_per_row=4)
    holds = seat_bot.core.holds
    assert isinstance(await holds.hold(show.show_id, OTHER_USER, show.seat_ids), Hold)
    assert await holds.waitlist.join(show.show_id, 777, 4, together=True) is not None
    # When the holder lets one seat go, it is kept for the waitlist
    assert isinstance(await holds.hold(show.show_id, OTHER_USER, show.seat_ids[:3]), Hold)
    message = await seat_bot.open_map(show.show_id)
    text, data = seat_button(message, show.seat_ids[3])
    assert text == "⏳" and "⏳ kept for the waitlist" in (message.caption or "")
    # Then the user tapping it is told why they cannot have it, and offered the waitlist
    answer = await seat_bot.press(message.message_id, data)
    assert answer.show_alert and answer.text is not None and "to people on the waitlist first" in answer.text
    assert await holds.current_hold(show.show_id, USER) is None
    assert action_button(seat_bot.map_message(), Action.WAITLIST_JOIN, "Join")


async def test_the_demo_grand_hall_pages_through_four_blocks_within_telegrams_limits(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    await seed_demo(sessions)
    async with sessions() as session:
        show_id = await session.scalar(
            select(Show.id).join(Hall).where(Hall.name == "Saal 1", Show.starts_at > utc_now()).limit(1)
        )
    assert show_id is not None
    message = await seat_bot.open_map(show_id)
    seen: set[int] = set()
    for number in range(1, 5):
        await seat_bot.press(message.message_id, f"v1:sh:{show_id}:{number}", stale=True)
        shown = seat_bot.map_message()
        rows = shown.reply_markup["inline_keyboard"]  # type: ignore[index]
        assert sum(len(row) for row in rows) <= 100 and all(len(row) <= 8 for row in rows)
        assert all(len(data.encode()) <= 64 for data in shown.callback_data())
        assert f"Block {number} of 4 · rows A–O" in (shown.caption or "")
        seen |= set(shown_seats(shown))
    assert len(seen) == 270


async def test_quick_taps_on_several_seats_hold_them_all(seat_bot: SeatBot, sessions: SessionFactory) -> None:
    # The Application handles updates concurrently: taps read the hold before the others write it
    show = await make_show(sessions, rows=2, seats_per_row=6)
    message = await seat_bot.open_map(show.show_id)
    taps = [seat_button(message, seat)[1] for seat in show.seat_ids[1:5]]
    await asyncio.gather(*(seat_bot.press(message.message_id, data) for data in taps))
    hold = await seat_bot.core.holds.current_hold(show.show_id, USER)
    assert hold is not None and hold.seat_ids == tuple(show.seat_ids[1:5])


async def test_other_shows_goes_back_to_the_listing_in_place_of_the_map(
    seat_bot: SeatBot, sessions: SessionFactory
) -> None:
    show = await make_show(sessions, rows=2, seats_per_row=4)
    message = await seat_bot.open_map(show.show_id)
    await seat_bot.press(message.message_id, action_button(message, Action.MOVIE, "Other shows"))
    shown = [m for m in seat_bot.telegram.chat(USER) if m.from_bot]
    assert [m.kind for m in shown] == ["text"]
    assert any(c.action == Action.SHOW and c.args[0] == show.show_id for _t, c in callbacks(shown[0]))

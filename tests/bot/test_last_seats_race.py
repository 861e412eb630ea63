"""50 simulated users at once through the bot, racing for the last 10 seats of a show.

Given a 40-seat show with 30 seats sold, 50 users open its seat map and tap one of the 10 free seats at
the same moment (five users per seat). Then: exactly 10 hold a seat, every loser gets a plain alert and a
seat map offering the waitlist; the losers join the waitlist one after another; three winners let their
seats go and the first three in line, and only they, are offered seats; everyone left pays; no seat is
sold twice.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.catalogue.views import ShowDetails
from bot.codec import Action, encode
from roles.redis_server import RedisEndpoint
from tests.bot.harness import BotWorld, SimulatedUser, confirmed_booking, open_world, pay_url, text_of
from tests.factories import make_show
from tests.flows.harness import BrokerPlan

USERS = 50
FREE = 10
RELEASING = 3


async def open_seat_map(fan: SimulatedUser, details: ShowDetails) -> None:
    """/start, city, movie, show time: the way a user reaches the seat map."""
    show_id = details.show_id
    await fan.say("/start")
    await fan.wait_for_button(encode(Action.CITY, details.cinema.city_id))
    await fan.press(encode(Action.CITY, details.cinema.city_id))
    await fan.wait_for_button(encode(Action.MOVIE, details.cinema.city_id, details.movie.id))
    await fan.press(encode(Action.MOVIE, details.cinema.city_id, details.movie.id))
    await fan.wait_for_button(encode(Action.SHOW, show_id, 0))
    await fan.press(encode(Action.SHOW, show_id, 0))
    await fan.wait_for_button(encode(Action.BEST, show_id, 1))


async def pay_for(fan: SimulatedUser, world: BotWorld, show_id: int, via: Action = Action.CHECKOUT) -> None:
    """Checkout from the seat map (or accept an offer), then pay on the sandbox page."""
    await fan.press(encode(via, show_id))
    checkout = await fan.wait_for_button(encode(Action.CONTACTS, show_id), timeout=20)
    assert await world.pay(pay_url(checkout)) == 200
    await fan.wait_for_text("Booking confirmed", timeout=30)


@pytest.mark.timeout(120)
async def test_fifty_users_race_for_the_last_ten_seats(
    engine: AsyncEngine, database_url: str, redis_endpoint: RedisEndpoint, broker: BrokerPlan, redis: object
) -> None:
    async with open_world(
        database_url, redis_endpoint.url, broker=broker, HOLD_ATTEMPTS_PER_MINUTE=600
    ) as world:
        # Given a 40-seat show with 30 seats sold and 50 users looking at its seat map
        show = await make_show(world.core.sessions, rows=8, seats_per_row=5)
        await confirmed_booking(world.core.sessions, show.show_id, 900_000, show.seat_ids[:-FREE])
        last_seats = show.seat_ids[-FREE:]
        fans = [world.user(7000 + n) for n in range(USERS)]
        details = await world.core.catalogue.show_details(show.show_id)
        assert details is not None
        await asyncio.gather(*(open_seat_map(fan, details) for fan in fans))

        # When they all tap one of the 10 free seats at once, five users per seat
        async def tap_seat(n: int, fan: SimulatedUser) -> tuple[SimulatedUser, object]:
            data = encode(Action.SEAT, show.show_id, last_seats[n % FREE], 1)
            return fan, await fan.press(data, fan.message_with(data))

        answers = await asyncio.gather(*(tap_seat(n, fan) for n, fan in enumerate(fans)))

        # Then exactly ten hold a seat, one each, and no seat is held twice
        holds = {fan.id: await world.core.holds.current_hold(show.show_id, fan.id) for fan in fans}
        winners = [fan for fan in fans if holds[fan.id] is not None]
        losers = [fan for fan in fans if holds[fan.id] is None]
        assert len(winners) == FREE
        held = sorted(seat for hold in holds.values() if hold is not None for seat in hold.seat_ids)
        assert held == sorted(last_seats)
        # And every loser is told plainly, in an alert, and offered the waitlist on a fresh seat map
        join = encode(Action.WAITLIST_JOIN, show.show_id, 0, 1)
        for fan, answer in answers:
            if fan in losers:
                assert answer.show_alert and answer.text and "taken" in answer.text, answer  # type: ignore[attr-defined]
                await fan.wait_for_button(join)

        # When the losers join the waitlist, one after another
        for fan in losers:
            await fan.press(join, fan.message_with(join))
            one_seat = encode(Action.WAITLIST_JOIN, show.show_id, 1, 1)
            await fan.wait_for_button(one_seat)
            answer = await fan.press(one_seat)
            assert answer.text == "You are on the waitlist.", answer
        # ... and three winners let their seats go
        for fan in winners[:RELEASING]:
            await fan.press(encode(Action.RELEASE, show.show_id))

        # Then the first three in line are offered seats, in the order they joined, and nobody else
        offered = losers[:RELEASING]
        for fan in offered:
            await fan.wait_for_text("Seats for you", timeout=15)
        await asyncio.sleep(0.5)
        for fan in losers[RELEASING:]:
            assert not any("Seats for you" in text_of(m) for m in fan.chat), fan.describe()
        for fan in offered:
            hold = await world.core.holds.current_hold(show.show_id, fan.id)
            assert hold is not None and hold.is_offer

        # When the remaining winners and the three offered waiters pay
        await asyncio.gather(
            *(pay_for(fan, world, show.show_id) for fan in winners[RELEASING:]),
            *(pay_for(fan, world, show.show_id, Action.OFFER_ACCEPT) for fan in offered),
        )

        # Then every seat of the show is sold exactly once
        sold = await world.sold_seats(show.show_id)
        assert len(sold) == len(set(sold)) == len(show.seat_ids)
        assert await world.count_confirmed(show.show_id) == 1 + FREE

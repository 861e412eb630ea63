"""One user books from /start to a confirmed ticket through the real Application and the sandbox Bot API,
paying on the sandbox checkout page, with the payment settled by a Dramatiq worker."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.codec import Action, encode
from roles.redis_server import RedisEndpoint
from tests.bot.harness import open_world, pay_url, text_of
from tests.factories import make_show
from tests.flows.harness import BrokerPlan

USER = 5001


@pytest.mark.timeout(90)
async def test_a_user_books_from_start_to_a_confirmed_ticket(
    engine: AsyncEngine,
    database_url: str,
    redis_endpoint: RedisEndpoint,
    each_broker: BrokerPlan,
    redis: object,
) -> None:
    async with open_world(database_url, redis_endpoint.url, broker=each_broker) as world:
        show = await make_show(world.core.sessions, rows=4, seats_per_row=6)
        details = await world.core.catalogue.show_details(show.show_id)
        assert details is not None
        fan = world.user(USER)

        # Given a user who says /start: one message, a greeting with the cities and a nearest-city button
        cities = await fan.say("/start")
        assert "Marquee" in text_of(cities) and "Choose your city" in text_of(cities)
        city = encode(Action.CITY, details.cinema.city_id)
        assert city in cities.callback_data() and encode(Action.LOCATION_ASK) in cities.callback_data()
        assert [m.message_id for m in world.telegram.chat(USER) if m.from_bot] == [cities.message_id]
        assert world.telegram.chat_state(USER).reply_keyboard is None

        # When they pick the city, the movie and the show time (each screen edits the same message)
        await fan.press(encode(Action.CITY, details.cinema.city_id))
        movies = await fan.wait_for_button(encode(Action.MOVIE, details.cinema.city_id, details.movie.id))
        assert movies.message_id == cities.message_id
        assert "2h 00m · 12 · English" in text_of(movies)
        await fan.press(encode(Action.MOVIE, details.cinema.city_id, details.movie.id))
        shows = await fan.wait_for_button(encode(Action.SHOW, show.show_id, 0))
        assert "24 free" in text_of(shows)
        await fan.press(encode(Action.SHOW, show.show_id, 0), shows)
        await fan.wait_for_button(encode(Action.BEST, show.show_id, 2))
        # ... and take the best two seats on the seat map and go to checkout
        answer = await fan.press(encode(Action.BEST, show.show_id, 2))
        assert answer.text and "Held" in answer.text
        await fan.wait_for_button(encode(Action.CHECKOUT, show.show_id))
        await fan.press(encode(Action.CHECKOUT, show.show_id))

        # Then the checkout sums it up with a Pay button opening the provider's page
        checkout = await fan.wait_for_button(encode(Action.CONTACTS, show.show_id))
        summary = text_of(checkout)
        for expected in (details.movie.title, details.cinema.name, details.hall_name, "24.00 EUR"):
            assert expected in summary, summary
        # When they pay on the sandbox checkout page
        assert await world.pay(pay_url(checkout)) == 200

        # Then the worker confirms the booking and the user is told, and the Pay button is gone
        confirmed = await fan.wait_for_text("Booking confirmed", timeout=30)
        assert encode(Action.MY_TICKETS) in confirmed.callback_data()
        assert await world.booking_statuses(USER) == ["confirmed"]
        assert "Paid" in text_of(next(m for m in fan.chat if m.message_id == checkout.message_id))
        assert not any(
            b.get("url") for b in next(m for m in fan.chat if m.message_id == checkout.message_id).buttons()
        )

        # And /mytickets lists the ticket, which opens with its QR code
        tickets = await fan.say("/mytickets")
        assert details.movie.title in text_of(tickets)
        booking_button = next(d for d in tickets.callback_data() if d.startswith("v1:tk:"))
        await fan.press(booking_button, tickets)
        ticket = await fan.wait_for_text("Ticket code")
        assert ticket.photo is not None
        assert len(await world.sold_seats(show.show_id)) == 2

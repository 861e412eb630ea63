"""Stale and forged callback data: a clear answer and a fresh view, never an exception.

Each test presses a button whose data no longer applies (or was never ours) on a real message and
checks the alert and the screen that replaces the message. No update may reach the error handler.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.holds.store import Hold
from booking_core.models import utc_now
from bot.codec import Action, encode
from bot.handlers.fallback import OUT_OF_DATE
from roles.redis_server import RedisEndpoint
from tests.bot.harness import BotWorld, SimulatedUser, confirmed_booking, open_world, text_of
from tests.factories import ShowFixture, make_show

ALICE, BOB = 6101, 6102


@pytest.fixture(autouse=True)
def no_failures(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """After each test: no update reached the global error handler."""
    caplog.set_level(logging.ERROR, logger="bot.handlers.errors")
    yield
    failures = [r for r in caplog.records if r.name == "bot.handlers.errors"]
    assert not failures, [r.getMessage() for r in failures]


async def cities_message(fan: SimulatedUser) -> None:
    """/start, leaving the cities list as the newest message."""
    await fan.say("/start")
    await fan.wait_for_text("Choose your city")


@pytest.mark.parametrize(
    "data", ["v9:city:1", "v1:nosuch", "v1:city:x", "hello", "v1:tk:1:2", "v1:st:" + "9" * 60]
)
async def test_forged_or_outdated_data_gets_an_alert_and_a_fresh_start(world: BotWorld, data: str) -> None:
    # Given a user looking at the cities
    await make_show(world.core.sessions)
    fan = world.user(ALICE)
    await cities_message(fan)
    screen = fan.last()
    # When they press a button carrying data the codec refuses
    answer = await fan.press(data, screen, forge=True)
    # Then an alert says it is out of date, and the message shows the cities afresh
    assert answer.show_alert and answer.text == OUT_OF_DATE
    await fan.wait_for_text("Choose your city")
    assert fan.last().message_id == screen.message_id


async def test_a_city_no_longer_listed(world: BotWorld) -> None:
    show = await make_show(world.core.sessions)
    fan = world.user(ALICE)
    await cities_message(fan)
    answer = await fan.press(encode(Action.CITY, 987_654), fan.last(), forge=True)
    assert answer.show_alert and answer.text == "That city is no longer listed."
    details = await world.core.catalogue.show_details(show.show_id)
    assert details is not None
    await fan.wait_for_button(encode(Action.CITY, details.cinema.city_id))


async def test_a_movie_button_of_a_city_no_longer_listed(world: BotWorld) -> None:
    show = await make_show(world.core.sessions)
    details = await world.core.catalogue.show_details(show.show_id)
    assert details is not None
    fan = world.user(ALICE)
    await cities_message(fan)
    answer = await fan.press(encode(Action.MOVIE, 987_654, details.movie.id), fan.last(), forge=True)
    assert answer.show_alert and answer.text == "That city is no longer listed."
    await fan.wait_for_button(encode(Action.CITY, details.cinema.city_id))


async def test_a_movie_whose_shows_have_all_started(world: BotWorld) -> None:
    # Given a movie whose only show started a minute ago, and another movie still showing in the city
    started = await make_show(world.core.sessions, starts_at=utc_now() - timedelta(minutes=1))
    details = await world.core.catalogue.show_details(started.show_id)
    assert details is not None
    fan = world.user(ALICE)
    await cities_message(fan)
    # When the user presses the old movie's button
    answer = await fan.press(
        encode(Action.MOVIE, details.cinema.city_id, details.movie.id), fan.last(), forge=True
    )
    # Then they are told and see what is showing now
    assert answer.show_alert and answer.text == "That movie has no more shows here."
    screen = await fan.wait_for_text("no more shows")
    assert encode(Action.CITIES) in screen.callback_data()


async def hold_for(world: BotWorld, show: ShowFixture, user: int, seats: list[int]) -> Hold:
    """A hold taken through the core, as another bot process would."""
    hold = await world.core.holds.hold(show.show_id, user, seats)
    assert isinstance(hold, Hold), hold
    return hold


async def test_checkout_after_the_hold_has_gone_shows_the_seat_map(world: BotWorld) -> None:
    # Given a user whose seats were held, with the Pay button of the seat map in front of them
    show = await make_show(world.core.sessions, rows=3, seats_per_row=5)
    fan = world.user(ALICE)
    await cities_message(fan)
    hold = await hold_for(world, show, ALICE, show.seat_ids[:2])
    await fan.press(encode(Action.SHOW, show.show_id, 0), fan.last(), forge=True)
    seat_map = await fan.wait_for_button(encode(Action.CHECKOUT, show.show_id))
    # When the hold goes (released elsewhere, or expired) and they press Pay
    await world.core.holds.release(show.show_id, hold.token)
    answer = await fan.press(encode(Action.CHECKOUT, show.show_id), seat_map)
    # Then an alert says so, and the seat map comes back without their seats
    assert answer.show_alert and answer.text and "no longer held" in answer.text
    pay = encode(Action.CHECKOUT, show.show_id)
    fresh = await world.telegram.wait_for(
        ALICE,
        lambda chat: next((m for m in chat if m.from_bot and m.photo and pay not in m.callback_data()), None),
    )
    assert encode(Action.BEST, show.show_id, 2) in fresh.callback_data()


async def test_a_seat_taken_meanwhile(world: BotWorld) -> None:
    # Given a user looking at a seat map
    show = await make_show(world.core.sessions, rows=3, seats_per_row=5)
    fan = world.user(ALICE)
    await cities_message(fan)
    await fan.press(encode(Action.SHOW, show.show_id, 0), fan.last(), forge=True)
    seat = show.seat_ids[7]
    data = next(d for d in (await fan.wait_for_button(encode(Action.BEST, show.show_id, 1))).callback_data()
                if d.startswith(f"v1:st:{show.show_id}:{seat}:"))  # fmt: skip
    # When someone else takes the seat and then the user taps it
    await hold_for(world, show, BOB, [seat])
    answer = await fan.press(data, fan.message_with(data))
    # Then they are told and the map is redrawn without it as a free seat
    assert answer.show_alert and answer.text and "taken" in answer.text
    assert await world.core.holds.current_hold(show.show_id, ALICE) is None


async def test_someone_elses_booking(world: BotWorld) -> None:
    # Given Alice's confirmed booking, and Bob looking at his (empty) tickets
    show = await make_show(world.core.sessions)
    alices = await confirmed_booking(world.core.sessions, show.show_id, ALICE, show.seat_ids[:2])
    bob = world.user(BOB)
    listing = await bob.say("/mytickets")
    assert "no tickets" in text_of(listing)
    # When Bob presses forged buttons for Alice's booking
    opened = await bob.press(encode(Action.TICKET, alices), listing, forge=True)
    cancelled = await bob.press(encode(Action.CANCEL_CONFIRMED, alices), listing, forge=True)
    asked = await bob.press(encode(Action.CANCEL_BOOKING, alices), listing, forge=True)
    # Then each is refused plainly, and Alice's booking stands
    assert opened.show_alert and opened.text == "That booking isn't in your tickets."
    assert cancelled.show_alert and cancelled.text == "That booking isn't one of yours."
    assert asked.show_alert and asked.text == "That booking isn't in your tickets."
    assert await world.booking_statuses(ALICE) == ["confirmed"]
    assert "no tickets" in text_of(bob.last())


async def test_buttons_keep_working_after_a_restart(
    engine: AsyncEngine, database_url: str, redis_endpoint: RedisEndpoint, redis: object
) -> None:
    # Given a user who got the list of cities from one bot process, which then stops
    async with open_world(database_url, redis_endpoint.url) as first:
        show = await make_show(first.core.sessions, rows=2, seats_per_row=4)
        fan = first.user(ALICE)
        await cities_message(fan)
        cities = fan.last()
    # When a new process (a new Application and core, same Telegram) gets a press on that old message
    async with open_world(database_url, redis_endpoint.url, telegram=first.telegram) as second:
        details = await second.core.catalogue.show_details(show.show_id)
        assert details is not None
        fan = second.user(ALICE)
        answer = await fan.press(encode(Action.CITY, details.cinema.city_id), cities)
        # Then it answers as the first would have: the city's movies, in place
        assert not answer.show_alert
        movies = await fan.wait_for_button(encode(Action.MOVIE, details.cinema.city_id, details.movie.id))
        assert movies.message_id == cities.message_id

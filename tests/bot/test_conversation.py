"""The rest of the conversation through the real Application: commands, location, delivery details,
/cancel, and what the bot says to text it does not expect."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.bookings.customers import find_customer
from booking_core.holds.store import Hold
from booking_core.models import Base
from bot.codec import Action, encode
from bot.handlers.errors import SORRY
from bot.views.contacts import NOT_NOW, SHARE_PHONE
from tests.bot.harness import BotWorld, SimulatedUser, text_of
from tests.factories import ShowFixture, make_show

USER = 6301


async def at_checkout(world: BotWorld, fan: SimulatedUser, show: ShowFixture) -> None:
    """The user holds two seats and has the checkout in front of them."""
    await fan.say("/start")
    await fan.wait_for_text("Choose your city")
    hold = await world.core.holds.hold(show.show_id, fan.id, show.seat_ids[:2])
    assert isinstance(hold, Hold)
    await fan.press(encode(Action.CHECKOUT, show.show_id), fan.last(), forge=True)
    await fan.wait_for_button(encode(Action.CONTACTS, show.show_id))


async def test_commands_are_registered_with_telegram(world: BotWorld) -> None:
    registered = world.telegram.commands[("default", "")]
    assert [command["command"] for command in registered] == ["start", "mytickets", "cancel", "help"]


async def test_help_and_text_the_bot_does_not_expect(world: BotWorld) -> None:
    fan = world.user(USER)
    helped = await fan.say("/help")
    assert "/mytickets" in text_of(helped) and encode(Action.CITIES) in helped.callback_data()
    puzzled = await fan.say("what's on tonight?")
    assert "didn't catch that" in text_of(puzzled)


async def test_sharing_a_location_picks_the_nearest_city_with_cinemas(world: BotWorld) -> None:
    # Given two cities with cinemas (the factory puts them a little north of each other)
    near = await make_show(world.core.sessions)
    await make_show(world.core.sessions)
    details = await world.core.catalogue.show_details(near.show_id)
    assert details is not None
    cities = await world.core.catalogue.cities()
    city = next(c for c in cities if c.id == details.cinema.city_id)
    # And a user who pressed "nearest city" on the greeting and got the location-sharing keyboard
    fan = world.user(USER)
    await fan.say("/start")
    await fan.press(encode(Action.LOCATION_ASK))
    await fan.wait_for_text("Share location")
    assert world.telegram.chat_state(USER).reply_keyboard is not None
    # When the user shares a location right next to the first one
    answer = await fan.share_location(city.latitude + 0.001, city.longitude)
    # Then they see that city's movies
    assert f"Nearest city with cinemas: <b>{city.name}</b>" in (answer.text or "") or city.name in text_of(
        answer
    )
    assert encode(Action.MOVIE, city.id, details.movie.id) in answer.callback_data()


async def test_delivery_details_are_optional_validated_and_remembered(world: BotWorld) -> None:
    show = await make_show(world.core.sessions)
    fan = world.user(USER)
    await at_checkout(world, fan, show)
    # When the user opens the delivery details from the checkout and shares their phone number
    await fan.press(encode(Action.CONTACTS, show.show_id))
    await fan.wait_for_button(encode(Action.PHONE_ASK, show.show_id))
    await fan.press(encode(Action.PHONE_ASK, show.show_id))
    prompt = await fan.wait_for_text(SHARE_PHONE)
    keyboard = world.telegram.chat_state(USER).reply_keyboard
    assert keyboard is not None and keyboard["keyboard"][0][0]["request_contact"] is True
    saved = await fan.share_contact("4915112345678")
    # Then it is saved in E.164, the prompt is gone and the details show it, with the way back to paying
    assert "Phone number saved: +4915112345678" in text_of(saved)
    assert prompt.message_id not in {m.message_id for m in fan.chat}
    assert encode(Action.CHECKOUT, show.show_id) in saved.callback_data()
    # When they type an address that is not one, then one that is
    await fan.press(encode(Action.EMAIL_ASK, show.show_id), saved)
    await fan.wait_for_text("Type your email address")
    retry = await fan.say("ada at example")
    assert "doesn't look like an email address" in text_of(retry)
    accepted = await fan.say("Ada.Lovelace@Example.COM")
    assert "Email saved: Ada.Lovelace@example.com" in text_of(accepted)
    customer = await find_customer(world.core.sessions, USER)
    assert customer is not None
    assert (customer.phone, customer.email) == ("+4915112345678", "Ada.Lovelace@example.com")
    # And back at the checkout the ticket is said to go there too
    await fan.press(encode(Action.CHECKOUT, show.show_id), accepted)
    summary = await fan.wait_for_text("plus SMS to +4915112345678 and email to Ada.Lovelace@example.com")
    assert summary.message_id == accepted.message_id
    # When they remove the phone number again
    await fan.press(encode(Action.CONTACTS, show.show_id), summary)
    await fan.wait_for_button(encode(Action.PHONE_CLEAR, show.show_id))
    answer = await fan.press(encode(Action.PHONE_CLEAR, show.show_id))
    assert answer.text == "Phone number removed"
    customer = await find_customer(world.core.sessions, USER)
    assert customer is not None and customer.phone is None and customer.email is not None


async def test_not_now_leaves_the_phone_number_unset(world: BotWorld) -> None:
    fan = world.user(USER)
    await fan.say("/help")
    await fan.press(encode(Action.CONTACTS, 0), fan.last())
    await fan.wait_for_button(encode(Action.PHONE_ASK, 0))
    await fan.press(encode(Action.PHONE_ASK, 0))
    await fan.wait_for_text(SHARE_PHONE)
    declined = await fan.say(NOT_NOW)
    assert "no phone number" in text_of(declined)
    assert world.telegram.chat_state(USER).reply_keyboard is None
    customer = await find_customer(world.core.sessions, USER)
    assert customer is not None and customer.phone is None


async def test_cancel_releases_held_seats_and_closes_the_checkout(world: BotWorld) -> None:
    # Given a user at the checkout of two held seats
    show = await make_show(world.core.sessions)
    fan = world.user(USER)
    await at_checkout(world, fan, show)
    checkout = fan.last()
    # When they send /cancel
    done = await fan.say("/cancel")
    # Then the seats are released, they are told which show, and the checkout can no longer be paid
    assert "released" in text_of(done) and "Movie" in text_of(done)
    assert await world.core.holds.current_hold(show.show_id, USER) is None
    closed = next(m for m in fan.chat if m.message_id == checkout.message_id)
    assert "cancelled" in text_of(closed) and not closed.buttons()
    # And a second /cancel has nothing left to do
    again = await fan.say("/cancel")
    assert "Nothing to cancel" in text_of(again)


async def test_a_failure_is_logged_and_the_user_told_to_try_again(
    world: BotWorld, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a database that has lost its tables (as good as down)
    fan = world.user(USER)
    menu = await fan.say("/help")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
    # When the user presses a button that needs it
    answer = await fan.press(encode(Action.TICKETS), menu)
    # Then the press is answered, the user is told plainly to try again, and the failure is logged
    assert answer is not None
    sorry = await fan.wait_for_text(SORRY)
    assert encode(Action.CITIES) in sorry.callback_data()
    failures = [r for r in caplog.records if r.name == "bot.handlers.errors" and r.exc_info]
    assert failures and "update" in failures[0].getMessage()

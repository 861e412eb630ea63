"""The Mini App's JSON API through the real web app, over real Redis and SQL, with the bot's rules."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from booking_core.holds.store import Hold
from booking_core.models import utc_now
from tests.bot.harness import BotWorld, pay_url, text_of
from tests.factories import make_show
from tests.miniapp.client import PageClient
from webhooks.miniapp.snapshots import FRESH_SECONDS

pytestmark = pytest.mark.timeout(60)


def page(world: BotWorld, show_id: int, user_id: int, **options: object) -> PageClient:
    """The page of `user_id` for the show (their chat with the bot exists, as when opened from it)."""
    world.user(user_id)
    return PageClient(world.http, world.base_url, show_id, user_id, **options)  # type: ignore[arg-type]


async def test_a_tap_holds_at_once_and_others_see_it(world: BotWorld) -> None:
    show = await make_show(world.core.sessions, rows=3, seats_per_row=6)
    alice, bob = page(world, show.show_id, 701), page(world, show.show_id, 702)
    # Given the whole hall, every seat named by row and number, all free, with a version
    status, state = await alice.get()
    assert status == 200
    assert [row["label"] for row in state["rows"]] == ["A", "B", "C"]
    assert state["rows"][0]["seats"][0] == {"seat": "A1", "number": 1, "column": 1, "category": "standard"}
    assert sum(len(row["seats"]) for row in state["rows"]) == 18 and state["states"] == {}  # all free
    assert state["hold"] is None and state["prices"][0]["amount_minor"] == 1200
    # When Alice holds two seats: they are hers at once, priced, with the time left
    status, held = await alice.hold("B3", "B4")
    assert status == 200, held
    assert held["hold"]["seats"] == ["B3", "B4"] and held["hold"]["total"] == "24.00 EUR"
    assert 290 <= held["hold"]["seconds_left"] <= 300
    assert list(held) == ["hold"]  # a tap is answered with her hold alone, not the hall's states
    # Then her page's next look has a new version with her seats as hers (laid over the shared map read
    # before her tap), and is "not modified" after, also once the shared map is read again with her
    # seats on it (at most FRESH_SECONDS later): Bob then sees both seats taken
    status, looked = await alice.get(etag=f'"{state["version"]}"')
    assert status == 200 and looked["states"] == {"B3": "yours", "B4": "yours"}
    await asyncio.sleep(FRESH_SECONDS)
    assert (await alice.get(etag=f'"{looked["version"]}"'))[0] == 304
    _, seen = await bob.get()
    assert seen["states"]["B3"] == seen["states"]["B4"] == "held"
    # And Bob's tap on one of them is refused in words, naming the seat, changing nothing
    status, refused = await bob.hold("B4", "B5")
    assert status == 409
    assert refused["error"]["code"] == "seat_taken" and refused["error"]["seats"] == ["B4"]
    assert "B4 was just taken" in refused["error"]["message"]
    assert (await world.core.holds.current_hold(show.show_id, 702)) is None
    # When Alice taps B3 off, then releases the rest, every seat is free again
    status, fewer = await alice.hold("B4")
    assert fewer["hold"]["seats"] == ["B4"]
    status, released = await alice.post("release")
    assert status == 200 and released["hold"] is None
    assert released["states"] == {}
    status, again = await alice.post("release")
    assert status == 409 and again["error"]["code"] == "hold_expired"


@pytest.mark.parametrize("forgery", ["missing", "wrong-scheme", "other-bot", "altered", "expired"])
async def test_without_genuine_fresh_init_data_nothing_happens(world: BotWorld, forgery: str) -> None:
    show = await make_show(world.core.sessions, rows=2, seats_per_row=4)
    honest = page(world, show.show_id, 711)
    authorization = {
        "missing": "",
        "wrong-scheme": f"Bearer {honest.init_data}",
        "other-bot": f"tma {page(world, show.show_id, 711, token='999:someone-else').init_data}",
        "altered": f"tma {honest.init_data.replace('711', '712')}",
        "expired": f"tma {page(world, show.show_id, 711, auth_date=int(time.time()) - 3601).init_data}",
    }[forgery]
    for action, body in [("hold", {"seats": ["A1"]}), ("best", {"count": 2}), ("waitlist", {"count": 1})]:
        status, answer = await honest.post(action, body, authorization=authorization)
        assert status == 401 and answer["error"]["code"] == "unauthorized", (action, answer)
    assert (await honest.get(authorization=authorization))[0] == 401
    # Nothing changed: no hold, nobody waiting
    _, state = await honest.get()
    assert state["states"] == {} and state["waitlist"]["waiting"] == 0


async def test_best_seats_and_the_limits_are_the_bots(world: BotWorld) -> None:
    show = await make_show(world.core.sessions, rows=3, seats_per_row=12)
    fan = page(world, show.show_id, 721)
    status, best = await fan.post("best", {"count": 3})
    assert status == 200, best
    seats = best["hold"]["seats"]
    assert len(seats) == 3 and len({seat[0] for seat in seats}) == 1
    numbers = sorted(int(seat[1:]) for seat in seats)
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    status, too_many = await fan.post("best", {"count": 11})
    assert status == 409 and too_many["error"]["code"] == "too_many_seats"
    status, too_many = await fan.hold(*[f"A{n}" for n in range(1, 12)])
    assert status == 409 and too_many["error"]["code"] == "too_many_seats"
    assert "at most 10 seats" in too_many["error"]["message"]
    status, unknown = await fan.hold("Z99")
    assert status == 400 and unknown["error"] == {
        "code": "unknown_seat",
        "message": "That seat is not part of this show's hall any more. The map is updated.",
        "seats": ["Z99"],
    }
    for body in [{"seats": "A1"}, {"seats": [1]}, {"count": "2"}, {"count": 0}]:
        action = "best" if "count" in body else "hold"
        status, bad = await fan.post(action, body)
        assert status == 400 and bad["error"]["code"] == "bad_request", body
    # The selection from before every refusal is still held
    assert (await fan.get())[1]["hold"]["seats"] == seats


async def test_taps_are_rate_limited_as_the_bots(world: BotWorld) -> None:
    show = await make_show(world.core.sessions, rows=2, seats_per_row=6)
    fan = page(world, show.show_id, 731)
    answers = [await fan.hold(f"A{n}") for n in range(1, 7)] + [await fan.hold(f"B{n}") for n in range(1, 7)]
    answers += [await fan.hold("A1") for _ in range(60)]
    statuses = [status for status, _ in answers]
    assert statuses.count(200) == 60 and statuses[60:] == [429] * 12
    assert answers[-1][1]["error"]["code"] == "rate_limited"


async def test_a_started_show_refuses_holds(world: BotWorld) -> None:
    show = await make_show(world.core.sessions, starts_at=utc_now() - timedelta(minutes=5))
    status, answer = await page(world, show.show_id, 741).hold("A1")
    assert status == 409 and answer["error"]["code"] == "show_started"
    status, answer = await page(world, 999_999, 741).get()
    assert status == 404 and answer["error"]["code"] == "unknown_show"


async def test_freed_seats_go_to_the_waitlist_first(world: BotWorld) -> None:
    show = await make_show(world.core.sessions, rows=1, seats_per_row=4)
    holder, waiter, late = (page(world, show.show_id, user) for user in (751, 752, 753))
    assert (await holder.hold("A1", "A2", "A3", "A4"))[0] == 200
    # Given a full show, a person joins the waitlist from the page for two seats side by side
    status, joined = await waiter.post("waitlist", {"count": 2})
    assert status == 200, joined
    assert joined["waitlist"] == {"waiting": 1, "position": 1} and "number 1" in joined["message"]
    # When the holder lets A1 go (too few for the waiter), nobody else may take it
    assert (await holder.hold("A2", "A3", "A4"))[0] == 200
    status, refused = await late.hold("A1")
    assert status == 409 and refused["error"]["code"] == "waitlist_first"
    assert "to people on the waitlist first" in refused["error"]["message"]
    # When the holder releases everything, the waiter is offered two seats side by side
    assert (await holder.post("release"))[0] == 200
    _, offered = await waiter.get()
    assert offered["hold"]["offer"] is True and len(offered["hold"]["seats"]) == 2
    # And joining while holding an offer is refused with the bot's words
    status, again = await waiter.post("waitlist", {"count": 2})
    assert status == 409 and again["error"]["code"] == "offered"


async def test_pay_starts_the_bots_checkout_in_the_chat(world: BotWorld) -> None:
    show = await make_show(world.core.sessions, rows=2, seats_per_row=6)
    fan = page(world, show.show_id, 761)
    assert (await fan.post("checkout"))[1]["error"]["code"] == "hold_expired"
    assert (await fan.hold("A3", "A4"))[0] == 200
    # When the person presses Pay on the page
    status, answer = await fan.post("checkout")
    assert status == 200, answer
    # Then the bot's checkout message, with its payment link, is in their chat
    checkout = await world.user(761).wait_for_text("24.00 EUR")
    hosted_page = f"{world.settings.STRIPE_API_BASE}/c/pay/"
    assert "A3" in text_of(checkout) and pay_url(checkout).startswith(hosted_page)
    assert await world.booking_statuses(761) == ["pending_payment"]
    # And pressing Pay again gives the same booking, not a second one
    assert (await fan.post("checkout"))[1]["booking_id"] == answer["booking_id"]
    assert await world.booking_statuses(761) == ["pending_payment"]


async def test_twenty_people_tapping_one_seat_at_once_give_it_to_one(world: BotWorld) -> None:
    show = await make_show(world.core.sessions, rows=1, seats_per_row=4)
    pages = [page(world, show.show_id, 800 + n) for n in range(20)]
    answers = await asyncio.gather(*(p.hold("A2") for p in pages))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [409] * 19
    assert {answer["error"]["code"] for status, answer in answers if status == 409} == {"seat_taken"}
    holders = [p.user_id for p in pages if await world.core.holds.current_hold(show.show_id, p.user_id)]
    assert len(holders) == 1


async def test_cancel_in_the_chat_releases_a_hold_made_on_the_page(world: BotWorld) -> None:
    # Given a person who held two seats on the page, without pressing the show's button in the chat
    show = await make_show(world.core.sessions, rows=2, seats_per_row=4)
    status, _held = await page(world, show.show_id, 751).hold("A1", "A2")
    assert status == 200
    # When they send /cancel in the chat
    done = await world.user(751).say("/cancel")
    # Then the seats are released and they are told which show
    assert "released" in text_of(done) and "Movie" in text_of(done)
    assert await world.core.holds.current_hold(show.show_id, 751) is None


async def test_cancel_in_the_chat_declines_an_offer_of_a_waitlist_joined_on_the_page(world: BotWorld) -> None:
    # Given a person who joined a full show's waitlist on the page, and was offered the seat let go
    show = await make_show(world.core.sessions, rows=1, seats_per_row=2)
    taken = await world.core.holds.hold(show.show_id, 752, show.seat_ids)
    assert isinstance(taken, Hold)
    status, _joined = await page(world, show.show_id, 753).post("waitlist", {"count": 1})
    assert status == 200, _joined
    await world.core.holds.release(show.show_id, taken.token)
    offer = await world.core.holds.current_hold(show.show_id, 753)
    assert offer is not None and offer.is_offer
    # When they send /cancel in the chat (the offer's own message may come before or after its answer)
    await world.telegram.send_text(753, "/cancel")
    # Then the offer is declined
    await world.user(753).wait_for_text("released")
    assert await world.core.holds.current_hold(show.show_id, 753) is None

"""Scaled out: two `web` and two `worker` processes on PostgreSQL, Redis and RabbitMQ, the bot in webhook
mode behind a round-robin load balancer, and 100 simulated Telegram users racing for a 20-seat show.

Given the users on the show's seat map, all asking for the best seat at once: exactly 20 hold one,
the 80 others join the waitlist at once and each learns a distinct place in line. 17 holders pay on
the checkout page, 3 let their seat go; the first three in line, and only they, are offered the
seats, accept and pay. Then: every seat sold once, each of the 20 buyers has one confirmed booking
with one ticket, one Telegram ticket sent and one in their chat, the updates and payments were
split across both web processes, and every process stops cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import aiohttp
import pytest

from bot.codec import Action, encode
from tests.factories import make_show
from tests.flows.harness import wait_until
from tests.ops.balancer import round_robin
from tests.ops.chat import ChatUser, pay_url, text_of
from tests.ops.deployment import Sandbox, Services, deployed
from tests.ops.invariants import settled_sales
from tests.ops.shop import PAID, Shop, open_shop

pytestmark = pytest.mark.timeout(150)

USERS = 100
ROWS, SEATS_PER_ROW = 4, 5
RELEASING = 3
FIRST_USER = 810_001
POSITION = re.compile(r"number (\d+) on the waitlist")
# A press that lost its seats to a faster user is tried again, as a person would; a bound keeps it honest.
RACE_ATTEMPTS = 10


async def reach_seat_map(user: ChatUser, city_id: int, movie_id: int, show_id: int) -> None:
    """/start, the city, the movie, the show: the way a user reaches the seat map."""
    await user.create()
    await user.say("/start")
    for press, then in (
        (encode(Action.CITY, city_id), encode(Action.MOVIE, city_id, movie_id)),
        (encode(Action.MOVIE, city_id, movie_id), encode(Action.SHOW, show_id, 0)),
        (encode(Action.SHOW, show_id, 0), encode(Action.BEST, show_id, 1)),
    ):
        await user.wait_for_button(press)
        await user.press(press)
        await user.wait_for_button(then)


async def race_for_a_seat(user: ChatUser, show_id: int) -> bool:
    """Ask for the best seat until one is held (True) or none is free any more (False)."""
    best = encode(Action.BEST, show_id, 1)
    for _attempt in range(RACE_ATTEMPTS):
        answer = str((await user.press(best))["text"] or "")
        if answer.startswith("Held"):
            await user.wait_for_button(encode(Action.CHECKOUT, show_id))
            return True
        if answer.startswith("Only 0 seat(s) are free"):
            # The map offers the one-tap join for the seat asked for
            await user.wait_for_button(encode(Action.WAITLIST_JOIN, show_id, 1, 1))
            return False
        await user.wait_for_button(best)  # lost a race for a seat still free: look again
    raise AssertionError(f"user {user.id} neither held a seat nor saw the show full: {answer!r}")


async def join_waitlist(user: ChatUser, show_id: int) -> int:
    """Join the show's waitlist for one seat; the place in line the bot tells."""
    one_seat = encode(Action.WAITLIST_JOIN, show_id, 1, 1)
    await user.wait_for_button(one_seat)
    answer = await user.press(one_seat)
    assert answer["text"] == "You are on the waitlist.", answer
    told = await user.wait_for_text("on the waitlist for")
    match = POSITION.search(text_of(told))
    assert match, told
    return int(match[1])


async def pay(user: ChatUser, shop: Shop, show_id: int, via: Action) -> None:
    """Check out (or accept an offer) and pay on the checkout page behind the Pay button."""
    await user.press(encode(via, show_id))
    checkout = await user.wait_for_button(encode(Action.CONTACTS, show_id))
    status, page = await shop.press(pay_url(checkout), "pay")
    assert status == 200 and PAID in page, page


async def delete_webhook(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    """Leave the sandbox bot without the webhook of a balancer that is going away (best effort)."""
    with contextlib.suppress(aiohttp.ClientError):
        async with http.post(f"{sandbox.bot_api}/deleteWebhook") as answer:
            await answer.read()


async def test_two_web_and_two_worker_processes_serve_a_hundred_users(
    sandbox: Sandbox,
    http: aiohttp.ClientSession,
    shared_postgres: str,
    shared_redis: str,
    rabbitmq: str,
    tmp_path: Path,
) -> None:
    services = Services(shared_postgres, shared_redis, rabbitmq)
    async with (
        round_robin() as balancer,
        deployed(tmp_path, services, sandbox, http) as deployment,
        open_shop(shared_postgres, shared_redis, balancer.url, sandbox) as shop,
    ):
        # Given a 20-seat show, and two web processes (the bot's webhook behind the balancer) and two workers
        show = await make_show(shop.core.sessions, rows=ROWS, seats_per_row=SEATS_PER_ROW)
        details = await shop.core.catalogue.show_details(show.show_id)
        assert details is not None
        webhook = f"{balancer.url}/webhooks/telegram"
        webs = [
            deployment.start_web(f"web-{n}", public_base_url=balancer.url, webhook_url=webhook)
            for n in (1, 2)
        ]
        for n in (1, 2):
            deployment.start_worker(f"worker-{n}", public_base_url=balancer.url)
        balancer.backends.extend(web.url for web in webs)
        await deployment.ready()
        try:
            # ... and 100 users on the show's seat map
            users = [ChatUser(http, sandbox.url, FIRST_USER + n) for n in range(USERS)]
            city, movie = details.cinema.city_id, details.movie.id
            await asyncio.gather(*(reach_seat_map(user, city, movie, show.show_id) for user in users))

            # When they all ask for the best seat at once
            held = await asyncio.gather(*(race_for_a_seat(user, show.show_id) for user in users))
            # Then exactly one user per seat holds one
            winners = [user for user, won in zip(users, held, strict=True) if won]
            losers = [user for user, won in zip(users, held, strict=True) if not won]
            assert len(winners) == len(show.seat_ids)

            # When 17 holders pay while the 80 others join the waitlist, all at once
            releasers, payers = winners[:RELEASING], winners[RELEASING:]
            _paid, places = await asyncio.gather(
                asyncio.gather(*(pay(user, shop, show.show_id, Action.CHECKOUT) for user in payers)),
                asyncio.gather(*(join_waitlist(user, show.show_id) for user in losers)),
            )
            # Then every waiter has a place of their own in one line
            assert sorted(places) == list(range(1, len(losers) + 1))
            in_line = [
                user for _place, user in sorted(zip(places, losers, strict=True), key=lambda pair: pair[0])
            ]

            # When three holders let their seats go
            for user in releasers:
                answer = await user.press(encode(Action.RELEASE, show.show_id))
                assert answer["text"] == "Your seats are released.", answer
            # Then the first three in line are offered the seats, and nobody behind them
            offered = in_line[:RELEASING]
            for user in offered:
                await user.wait_for_text("Seats for you")
            for user in in_line:
                hold = await shop.core.holds.current_hold(show.show_id, user.id)
                assert (hold is not None and hold.is_offer) == (user in offered), user.id

            # When they accept and pay
            await asyncio.gather(*(pay(user, shop, show.show_id, Action.OFFER_ACCEPT) for user in offered))
            buyers = payers + offered
            # Then every buyer is told, and gets their ticket in Telegram
            for user in buyers:
                await user.wait_for_text("Booking confirmed", within=30)
                await user.wait_for_text("Ticket code:", within=30)

            # And SQL shows every seat sold once, each buyer one booking, one ticket, one Telegram ticket sent
            sales = await wait_until(
                lambda: settled_sales(shop.core.sessions, show.show_id, len(buyers)),
                within=30,
                what="every sale settled with nothing amiss",
            )
            assert sales.problems == []
            assert sorted(sales.sold_seats) == sorted(show.seat_ids)
            assert dict(sales.buyers) == {user.id: 1 for user in buyers}
            assert dict(sales.outcomes) == {"confirmed": len(buyers)}
            # ... and nobody's chat shows a ticket twice, nobody else's one at all
            await asyncio.gather(*(user.refresh() for user in users))
            assert {user.id: user.count("Ticket code:") for user in users} == {
                user.id: int(user in buyers) for user in users
            }
            # And both web processes took a share of the Telegram updates and of Stripe's webhooks
            for web in webs:
                assert balancer.sent_to(web.url, "/webhooks/telegram") > USERS
                assert balancer.sent_to(web.url, "/webhooks/payments/stripe") > 0
            assert sum(balancer.sent_to(web.url, "/webhooks/payments/stripe") for web in webs) == len(buyers)
        finally:
            await delete_webhook(http, sandbox)
        # And every process stops cleanly within seconds of SIGTERM
        await deployment.shutdown()

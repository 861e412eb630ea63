"""Booking applications and the box office race for the last seats: each seat goes at most once.

100 locks through Marquee's adapter and 30 box-office sales hit the last 10 seats of a show at the same
time, over real HTTP, with the theatre's database work running in parallel threads. A control run on a
theatre that checks and claims seats in separate transactions shows that the race is real.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import pytest

from adapters.theatre.circuit_breaker import CircuitBreaker
from adapters.theatre.http import HttpTheatreSystem
from booking_core.theatre.port import SeatsUnavailable
from sandbox.theatre import SANDBOX_TOKEN, TheatreSandbox, start_theatre_sandbox
from tests.support.clocks import TheatreClock

LOCK_ATTEMPTS = 100
BOX_OFFICE_SALES = 30


async def race_for_the_last_ten(
    sandbox: TheatreSandbox, show_id: str
) -> tuple[list[tuple[str, ...]], list[str]]:
    """Sell all but 10 seats, then race; returns the seats each winner got and the last ten seats."""
    seat_map = await sandbox.store.call(sandbox.store.seat_map, show_id)
    labels = [seat["label"] for seat in seat_map["seats"]]
    await sandbox.store.call(sandbox.store.sell, show_id, labels[:-10])
    last_ten = labels[-10:]
    chooser = random.Random(7)
    adapter = HttpTheatreSystem(
        sandbox.base_url,
        SANDBOX_TOKEN,
        timeout=30.0,
        attempt_timeout=30.0,
        breaker=CircuitBreaker(failure_threshold=1000),
    )

    async def lock(seats: list[str]) -> tuple[str, ...] | None:
        try:
            await adapter.lock(show_id, seats, 300, "race", str(uuid.uuid4()))
        except SeatsUnavailable as refused:
            assert refused.seats and set(refused.seats) <= set(seats)
            return None
        return tuple(seats)

    async def sell(session: aiohttp.ClientSession, seats: list[str]) -> tuple[str, ...] | None:
        url = f"{sandbox.base_url}/boxoffice/shows/{show_id}/sell"
        async with session.post(url, json={"seats": seats}) as response:
            body = await response.json()
            if response.status == 409:
                assert body["error"]["seats"]
                return None
            assert response.status == 201, body
            return tuple(body["seats"])

    async with adapter, aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        attempts = [lock(chooser.sample(last_ten, chooser.randint(1, 3))) for _ in range(LOCK_ATTEMPTS)]
        attempts += [
            sell(session, chooser.sample(last_ten, chooser.randint(1, 2))) for _ in range(BOX_OFFICE_SALES)
        ]
        chooser.shuffle(attempts)
        outcomes = await asyncio.gather(*attempts)
    return [seats for seats in outcomes if seats is not None], last_ten


async def test_every_seat_is_sold_or_locked_at_most_once(sandbox: TheatreSandbox, show_id: str) -> None:
    winners, last_ten = await race_for_the_last_ten(sandbox, show_id)
    won = Counter(seat for seats in winners for seat in seats)
    assert won and set(won) <= set(last_ten)
    assert max(won.values()) == 1, f"seats given twice: {[s for s, n in won.items() if n > 1]}"
    # What the theatre's database says agrees with what the winners were told.
    claims = await sandbox.store.call(sandbox.store.claims, show_id)
    assert {label for label in claims if label in last_ten} == set(won)
    status = await sandbox.store.call(sandbox.store.seat_status, show_id)
    assert len(status["sold"]) + len(status["locked"]) == len(claims)


@pytest.fixture
async def unguarded(theatre_clock: TheatreClock) -> AsyncIterator[TheatreSandbox]:
    """A theatre that checks seats and claims them in separate transactions."""
    _, _, sandbox = await start_theatre_sandbox(clock=theatre_clock, guarded=False)
    yield sandbox
    await sandbox.close()


async def test_control_without_the_guard_the_same_race_gives_seats_twice(unguarded: TheatreSandbox) -> None:
    # The race is a race: on a busy machine one round may happen to run in single file, so allow a few.
    shows = await unguarded.store.call(unguarded.store.upcoming_shows, 200)
    show_ids = [show["id"] for show in shows if show["id"].startswith("riverside-1-")]
    most_wins = 0
    for show_id in show_ids[:5]:
        winners, _ = await race_for_the_last_ten(unguarded, show_id)
        most_wins = max(Counter(seat for seats in winners for seat in seats).values())
        if most_wins > 1:
            break
    assert most_wins > 1

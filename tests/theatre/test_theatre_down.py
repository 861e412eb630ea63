"""A theatre that is down, hangs or stumbles: calls fail fast, the breaker opens, recovery follows."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from adapters.theatre.circuit_breaker import CircuitBreaker, CircuitState
from adapters.theatre.http import HttpTheatreSystem
from booking_core.theatre.port import SeatsUnavailable, TheatreUnavailable
from sandbox.theatre import SANDBOX_TOKEN, TheatreSandbox, start_theatre_sandbox
from tests.support.clocks import HandClock, TheatreClock


@pytest.fixture
def breaker_clock() -> HandClock:
    return HandClock(start=0.0)


@pytest.fixture
async def fragile(sandbox: TheatreSandbox, breaker_clock: HandClock) -> AsyncIterator[HttpTheatreSystem]:
    """The adapter with its production time budget (about a second) and a breaker on a test clock."""
    breaker = CircuitBreaker(failure_threshold=3, reset_seconds=30.0, clock=breaker_clock)
    async with HttpTheatreSystem(sandbox.base_url, SANDBOX_TOKEN, breaker=breaker) as theatre:
        yield theatre


async def timed_failure(call: object) -> tuple[TheatreUnavailable, float]:
    started = time.monotonic()
    with pytest.raises(TheatreUnavailable) as failed:
        await call  # type: ignore[misc]
    return failed.value, time.monotonic() - started


async def test_a_stopped_theatre_fails_fast_opens_the_breaker_and_recovers(
    fragile: HttpTheatreSystem, sandbox: TheatreSandbox, show_id: str, breaker_clock: HandClock
) -> None:
    # Given a theatre that answered once and then went down
    await fragile.seat_status(show_id)
    await sandbox.stop()
    # When the bot keeps asking, each call fails within a second
    for _ in range(3):
        error, elapsed = await timed_failure(fragile.seat_status(show_id))
        assert error.reason == "connection" and elapsed < 1.0
    # Then the breaker is open and further calls fail without touching the network
    assert fragile.breaker.state is CircuitState.OPEN
    error, elapsed = await timed_failure(fragile.lock(show_id, ["A1"], 60, "r", str(uuid.uuid4())))
    assert error.reason == "circuit_open" and elapsed < 0.05
    # When the theatre is back and the cool-down has passed, one probe closes the breaker
    await sandbox.start()
    assert (await timed_failure(fragile.seat_status(show_id)))[0].reason == "circuit_open"
    breaker_clock.now += 30
    await fragile.seat_status(show_id)
    assert fragile.breaker.state is CircuitState.CLOSED


async def test_a_hanging_theatre_times_out_within_about_a_second(
    fragile: HttpTheatreSystem, sandbox: TheatreSandbox, show_id: str
) -> None:
    sandbox.faults.hang()
    error, elapsed = await timed_failure(fragile.seat_status(show_id))
    assert error.reason == "timeout"
    assert 0.9 <= elapsed < 1.5
    sandbox.faults.unhang()


async def test_a_probe_into_a_still_dead_theatre_reopens_the_breaker(
    fragile: HttpTheatreSystem, sandbox: TheatreSandbox, show_id: str, breaker_clock: HandClock
) -> None:
    await sandbox.stop()
    for _ in range(3):
        await timed_failure(fragile.seat_status(show_id))
    breaker_clock.now += 30
    error, _ = await timed_failure(fragile.seat_status(show_id))
    assert error.reason == "connection"
    assert fragile.breaker.state is CircuitState.OPEN


async def test_brief_server_errors_are_retried(
    fragile: HttpTheatreSystem, sandbox: TheatreSandbox, show_id: str
) -> None:
    sandbox.faults.fail_next = 2
    await fragile.seat_status(show_id)
    assert sandbox.faults.fail_next == 0
    assert fragile.breaker.consecutive_failures == 0
    # More failures than retries: the call gives up, counted once against the breaker
    sandbox.faults.fail_next = 3
    error, elapsed = await timed_failure(fragile.seat_status(show_id))
    assert error.reason == "server_error" and elapsed < 1.0
    assert fragile.breaker.consecutive_failures == 1


async def test_a_commit_whose_answer_was_lost_is_retried_into_the_same_single_sale(
    fragile: HttpTheatreSystem, sandbox: TheatreSandbox, show_id: str
) -> None:
    lock = await fragile.lock(show_id, ["E1", "E2"], 300, "booking-1", str(uuid.uuid4()))
    # The theatre commits, but its answer never reaches us; the retry carries the same key.
    sandbox.faults.lose_next = 1
    sale = await fragile.commit(lock.lock_id, "booking-1", 2200, "EUR", str(uuid.uuid4()))
    assert sandbox.faults.lose_next == 0
    tickets = await sandbox.store.call(sandbox.store.tickets, show_id)
    assert [ticket["ticket_id"] for ticket in tickets] == [sale.ticket_id]


async def test_a_lock_whose_answer_was_lost_is_replayed_not_refused(
    fragile: HttpTheatreSystem, sandbox: TheatreSandbox, show_id: str
) -> None:
    # Without the idempotency store the retry would find the seats locked (by our own first attempt).
    sandbox.faults.lose_next = 1
    lock = await fragile.lock(show_id, ["C3", "C4"], 300, "hold-1", str(uuid.uuid4()))
    assert sandbox.faults.lose_next == 0
    assert await sandbox.store.call(sandbox.store.claims, show_id) == {
        "C3": ("lock", lock.lock_id),
        "C4": ("lock", lock.lock_id),
    }


async def test_refusals_do_not_count_against_the_theatre(fragile: HttpTheatreSystem, show_id: str) -> None:
    await fragile.lock(show_id, ["B1"], 300, "first", str(uuid.uuid4()))
    for _ in range(5):
        with pytest.raises(SeatsUnavailable):
            await fragile.lock(show_id, ["B1"], 300, "late", str(uuid.uuid4()))
    assert fragile.breaker.state is CircuitState.CLOSED


async def test_one_dead_theatre_leaves_another_untouched(
    fragile: HttpTheatreSystem, sandbox: TheatreSandbox, show_id: str, theatre_clock: TheatreClock
) -> None:
    _, _, other = await start_theatre_sandbox(clock=theatre_clock)
    try:
        async with HttpTheatreSystem(other.base_url, SANDBOX_TOKEN, name="other") as healthy:
            await sandbox.stop()
            for _ in range(4):
                with pytest.raises(TheatreUnavailable):
                    await fragile.seat_status(show_id)
            assert (await healthy.seat_status(show_id)).taken == frozenset()
            assert healthy.breaker.state is CircuitState.CLOSED
    finally:
        await other.close()


async def test_answers_that_do_not_fit_the_contract(aiohttp_stand_in: str) -> None:
    async with HttpTheatreSystem(aiohttp_stand_in, "token", name="odd") as odd:
        # A 200 whose JSON is not a seat status
        error, _ = await timed_failure(odd.seat_status("garbage"))
        assert error.reason == "bad_response"
        # A proxy's HTML error page, every time: retried, then given up within the budget
        error, elapsed = await timed_failure(odd.seat_status("proxy-error"))
        assert error.reason == "server_error" and elapsed < 1.0


async def test_a_post_is_retried_with_the_same_idempotency_key(aiohttp_stand_in: str) -> None:
    async with HttpTheatreSystem(aiohttp_stand_in, "token", name="odd") as odd:
        lock = await odd.lock("busy", ["A1"], 60, "hold", "key-1")
    assert lock.lock_id == "L-1"
    assert SEEN_KEYS == ["key-1", "key-1"]


SEEN_KEYS: list[str] = []


@pytest.fixture
async def aiohttp_stand_in() -> AsyncIterator[str]:
    """A theatre that answers, but not as the contract says, or not at first."""
    SEEN_KEYS.clear()

    async def seats(request: web.Request) -> web.Response:
        if request.match_info["show"] == "garbage":
            return web.json_response({"sold": 5, "version": "x"})
        return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")

    async def locks(request: web.Request) -> web.Response:
        SEEN_KEYS.append(request.headers["Idempotency-Key"])
        if len(SEEN_KEYS) == 1:
            error = {"code": "request_in_progress", "message": "still running"}
            return web.json_response({"error": error}, status=409)
        return web.json_response(
            {"lock_id": "L-1", "expires_at": "2030-01-01T00:00:00Z", "amount": 1100, "currency": "EUR"},
            status=201,
        )

    app = web.Application()
    app.router.add_get("/v1/shows/{show}/seats", seats)
    app.router.add_post("/v1/shows/{show}/locks", locks)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_runner_cleanup_ends_the_sandbox_for_good(theatre_clock: TheatreClock) -> None:
    runner, base_url, sandbox = await start_theatre_sandbox(clock=theatre_clock)
    database = sandbox.store.path
    await sandbox.stop()
    await sandbox.start()
    assert os.path.exists(database)  # noqa: ASYNC240 (a test, a local file)
    await runner.cleanup()
    assert not sandbox.running and not os.path.exists(database)  # noqa: ASYNC240
    async with HttpTheatreSystem(base_url, SANDBOX_TOKEN) as theatre:
        assert (await timed_failure(theatre.seat_status("any")))[0].reason == "connection"
    with pytest.raises(RuntimeError):
        await sandbox.start()
    await sandbox.close()  # harmless afterwards

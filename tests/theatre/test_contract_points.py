"""What only the API link has, as docs/theatre-api.md settles it, against the sandbox theatre over HTTP.

The behaviour every kind of link shares is the port's contract suite (tests/theatre_contract/).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from adapters.theatre.http import HttpTheatreSystem
from booking_core.theatre.port import SeatsUnavailable, TheatreRejected
from sandbox.theatre import SANDBOX_TOKEN, Refusal, TheatreSandbox
from tests.support.clocks import TheatreClock


def key() -> str:
    return str(uuid.uuid4())


@pytest.fixture
async def http(sandbox: TheatreSandbox) -> AsyncIterator[aiohttp.ClientSession]:
    """A bare HTTP client with Marquee's token, for what the adapter never sends."""
    headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    async with aiohttp.ClientSession(base_url=sandbox.base_url, headers=headers) as session:
        yield session


async def post(
    http: aiohttp.ClientSession, path: str, body: bytes, idempotency_key: str
) -> tuple[int, dict[str, Any], bool]:
    """POST raw bytes; (status, JSON body, whether the answer was a replay)."""
    headers = {"Idempotency-Key": idempotency_key, "Content-Type": "application/json"}
    async with http.post(path, data=body, headers=headers) as response:
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        return response.status, await response.json(), replayed


async def test_the_idempotency_fingerprint_is_the_bodys_json_not_its_bytes(
    http: aiohttp.ClientSession, show_id: str
) -> None:
    path, same = f"/v1/shows/{show_id}/locks", key()
    first = await post(http, path, b'{"seats": ["D1"], "ttl_seconds": 60, "reference": "r"}', same)
    # The same JSON value with other spacing and key order is the same request: replayed
    again = await post(http, path, b'{"reference":"r","ttl_seconds":60,"seats":["D1"]}', same)
    assert first[0] == 201 and again == (201, first[1], True)
    # Another value under the key is another request
    other = await post(http, path, b'{"reference":"r","ttl_seconds":61,"seats":["D1"]}', same)
    assert other[:2] == (
        422,
        {"error": {"code": "idempotency_key_reused", "message": other[1]["error"]["message"]}},
    )


async def test_a_reused_key_with_another_body_is_422_even_while_the_first_request_runs(
    sandbox: TheatreSandbox, http: aiohttp.ClientSession, show_id: str
) -> None:
    path, same = f"/v1/shows/{show_id}/locks", key()
    sandbox.faults.slow_next, sandbox.faults.slow_seconds = 1, 3.0
    first = asyncio.create_task(
        post(http, path, b'{"seats": ["D2"], "ttl_seconds": 60, "reference": "r"}', same)
    )
    # ... until the first request has done its work and holds its key for the next three seconds
    await asyncio.wait_for(sandbox.faults.slowed.wait(), timeout=10)
    running_same = await post(http, path, b'{"seats": ["D2"], "ttl_seconds": 60, "reference": "r"}', same)
    running_other = await post(http, path, b'{"seats": ["D3"], "ttl_seconds": 60, "reference": "r"}', same)
    assert running_same[0] == 409 and running_same[1]["error"]["code"] == "request_in_progress"
    assert running_other[0] == 422 and running_other[1]["error"]["code"] == "idempotency_key_reused"
    assert (await first)[0] == 201


async def test_a_kept_refusal_is_replayed_even_after_the_seats_came_free(
    theatre: HttpTheatreSystem, rival: HttpTheatreSystem, show_id: str
) -> None:
    theirs = await rival.lock(show_id, ["D4"], 60, "theirs", key())
    same = key()
    with pytest.raises(SeatsUnavailable):
        await theatre.lock(show_id, ["D4"], 60, "ours", same)
    await rival.release(theirs.lock_id)
    # The same key replays the first answer; a new key asks again
    with pytest.raises(SeatsUnavailable):
        await theatre.lock(show_id, ["D4"], 60, "ours", same)
    assert (await theatre.lock(show_id, ["D4"], 60, "ours", key())).lock_id


async def test_a_theatre_may_grant_less_time_than_asked_and_says_so_in_expires_at(
    sandbox: TheatreSandbox, theatre: HttpTheatreSystem, show_id: str, theatre_clock: TheatreClock
) -> None:
    sandbox.store.max_lock_seconds = 3
    lock = await theatre.lock(show_id, ["D6"], 300, "r", key())
    assert lock.expires_at <= theatre_clock.now + timedelta(seconds=3)
    theatre_clock.advance(3)
    assert "D6" not in (await theatre.seat_status(show_id)).locked


async def test_an_over_long_key_is_invalid_and_a_missing_one_required(
    http: aiohttp.ClientSession, show_id: str
) -> None:
    body = b'{"seats": ["E4"], "ttl_seconds": 60, "reference": "r"}'
    too_long = await post(http, f"/v1/shows/{show_id}/locks", body, "k" * 256)
    assert too_long[0] == 400 and too_long[1]["error"]["code"] == "invalid_request"
    longest = await post(http, f"/v1/shows/{show_id}/locks", body, "k" * 255)
    assert longest[0] == 201
    async with http.post(f"/v1/shows/{show_id}/locks", data=body) as keyless:
        assert keyless.status == 400
        assert (await keyless.json())["error"]["code"] == "idempotency_key_required"


async def test_without_a_valid_token_the_api_answers_401(sandbox: TheatreSandbox, show_id: str) -> None:
    async with HttpTheatreSystem(sandbox.base_url, "wrong-token", timeout=10, attempt_timeout=5) as stranger:
        with pytest.raises(TheatreRejected) as refused:
            await stranger.seat_status(show_id)
    assert (refused.value.status, refused.value.reason) == (401, "unauthorized")
    assert stranger.breaker.consecutive_failures == 0  # the theatre answered: it is not down
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{sandbox.base_url}/v1/shows/{show_id}/seats") as bare,
    ):
        assert bare.status == 401
        assert (await bare.json())["error"]["code"] == "unauthorized"


async def test_a_key_whose_first_request_is_still_running_is_answered_409(sandbox: TheatreSandbox) -> None:
    store = sandbox.store
    assert await store.call(store.keys.claim, "marquee", "k-1", "fingerprint") is None
    with pytest.raises(Refusal) as running:
        await store.call(store.keys.claim, "marquee", "k-1", "fingerprint")
    assert (running.value.status, running.value.code) == (409, "request_in_progress")
    await store.call(store.keys.finish, "marquee", "k-1", 201, '{"lock_id": "L-1"}')
    assert await store.call(store.keys.claim, "marquee", "k-1", "fingerprint") == (201, '{"lock_id": "L-1"}')


async def test_unknown_paths_are_404_and_unknown_methods_405_with_allow(http: aiohttp.ClientSession) -> None:
    async with http.get("/v1/nothing/here") as missing:
        assert missing.status == 404 and (await missing.json())["error"]["code"] == "not_found"
    async with http.put("/v1/schedule") as wrong_method:
        assert wrong_method.status == 405
        assert (await wrong_method.json())["error"]["code"] == "method_not_allowed"
        assert "GET" in wrong_method.headers["Allow"]


async def test_schedule_times_take_fractional_seconds_and_an_encoded_offset(
    http: aiohttp.ClientSession, theatre_clock: TheatreClock
) -> None:
    day = (theatre_clock.now + timedelta(days=2)).strftime("%Y-%m-%d")
    window = f"from={day}T02:00:00.250%2B02:00&to={day}T23:59:59.999Z"
    async with http.get(f"/v1/schedule?{window}") as answer:
        assert answer.status == 200
        body = await answer.json()
    assert body["from"] == f"{day}T00:00:00Z" and body["shows"]
    # A bare + in a query string is a space: refused, saying how to write it
    async with http.get(f"/v1/schedule?from={day}T02:00:00+02:00") as bare:
        assert bare.status == 400
        assert "%2B" in (await bare.json())["error"]["message"]

"""Theatre API v1 as docs/theatre-api.md promises it: the sandbox theatre via our adapter, real HTTP."""

from __future__ import annotations

import uuid
from datetime import timedelta

import aiohttp
import pytest

from adapters.theatre.http import HttpTheatreSystem
from booking_core.theatre.port import LockExpired, SeatsUnavailable, TheatreRejected
from sandbox.theatre import SANDBOX_TOKEN, Refusal, TheatreSandbox
from tests.support.clocks import TheatreClock


def key() -> str:
    return str(uuid.uuid4())


async def sell_at_box_office(
    sandbox: TheatreSandbox, show_id: str, seats: list[str]
) -> aiohttp.ClientResponse:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{sandbox.base_url}/boxoffice/shows/{show_id}/sell", json={"seats": seats}) as response,
    ):
        await response.read()
        return response


async def test_schedule_lists_the_chain_with_layouts_and_a_week_of_shows(
    theatre: HttpTheatreSystem, theatre_clock: TheatreClock
) -> None:
    now = theatre_clock.now
    schedule = await theatre.schedule(now, now + timedelta(days=8))
    assert {cinema.external_id for cinema in schedule.cinemas} == {"riverside", "lindenhof"}
    riverside = next(cinema for cinema in schedule.cinemas if cinema.external_id == "riverside")
    assert (riverside.city, riverside.timezone) == ("Berlin", "Europe/Berlin")
    # The big hall: 8 rows of 12, an aisle after seat 6 (column 7 is empty), three categories.
    hall = schedule.hall("riverside-1")
    assert len(hall.seats) == 96
    row_a = [seat for seat in hall.seats if seat.row_label == "A"]
    assert [seat.column for seat in row_a] == [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13]
    assert hall.categories == {"standard", "premium", "wheelchair"}
    assert {seat.label for seat in hall.seats if seat.category == "wheelchair"} == {"A1", "A2"}
    # Shows every day for a week, in UTC, priced for every category of their hall.
    starts = sorted(show.starts_at for show in schedule.shows)
    assert starts[0] >= now and starts[-1] - starts[0] > timedelta(days=5)
    assert all(show.starts_at.utcoffset() == timedelta(0) for show in schedule.shows)
    assert {show.movie_external_id for show in schedule.shows} == {m.external_id for m in schedule.movies}


async def test_schedule_keeps_to_its_window(theatre: HttpTheatreSystem, theatre_clock: TheatreClock) -> None:
    frm = theatre_clock.now + timedelta(days=2)
    to = frm + timedelta(hours=24)
    schedule = await theatre.schedule(frm, to)
    assert 5 <= len(schedule.shows) <= 7
    assert all(frm <= show.starts_at < to for show in schedule.shows)


async def test_lock_then_a_clashing_lock_is_refused_naming_only_the_taken_seats(
    theatre: HttpTheatreSystem, rival: HttpTheatreSystem, show_id: str, theatre_clock: TheatreClock
) -> None:
    # Given our lock on C5 and C6
    lock = await theatre.lock(show_id, ["C5", "C6"], 300, "hold-1", key())
    lasts = lock.expires_at - theatre_clock.now
    assert timedelta(seconds=299) <= lasts <= timedelta(seconds=300)
    status = await theatre.seat_status(show_id)
    assert status.locked == {"C5", "C6"} and status.sold == frozenset()
    # When another booking application asks for C6 and C7
    with pytest.raises(SeatsUnavailable) as refused:
        await rival.lock(show_id, ["C6", "C7"], 300, "their-hold", key())
    # Then it is told which seat went elsewhere, and nothing of its request was locked
    assert refused.value.seats == ("C6",)
    assert (await theatre.seat_status(show_id)).locked == {"C5", "C6"}


async def test_release_frees_the_seats_and_is_fine_for_released_and_expired_locks(
    theatre: HttpTheatreSystem, show_id: str, theatre_clock: TheatreClock
) -> None:
    lock = await theatre.lock(show_id, ["D1"], 60, "hold", key())
    await theatre.release(lock.lock_id)
    assert (await theatre.seat_status(show_id)).taken == frozenset()
    await theatre.release(lock.lock_id)  # again: still 204
    # An expired lock releases quietly too
    expired = await theatre.lock(show_id, ["D2"], 60, "hold", key())
    theatre_clock.advance(61)
    await theatre.release(expired.lock_id)
    assert (await theatre.seat_status(show_id)).taken == frozenset()


async def test_commit_sells_the_locked_seats(theatre: HttpTheatreSystem, show_id: str) -> None:
    lock = await theatre.lock(show_id, ["E3", "E4", "G1"], 300, "booking-7", key())
    sale = await theatre.commit(lock.lock_id, "booking-7", 1100 + 1100 + 1500, "EUR", key())
    assert sale.ticket_id and sorted(sale.seats) == ["E3", "E4", "G1"]
    status = await theatre.seat_status(show_id)
    assert status.sold == {"E3", "E4", "G1"} and status.locked == frozenset()


async def test_commit_of_an_expired_lock_is_410_while_its_seats_are_free(
    theatre: HttpTheatreSystem, show_id: str, theatre_clock: TheatreClock
) -> None:
    lock = await theatre.lock(show_id, ["F1"], 30, "late payer", key())
    theatre_clock.advance(31)
    with pytest.raises(LockExpired):
        await theatre.commit(lock.lock_id, "late payer", 1100, "EUR", key())
    assert (await theatre.seat_status(show_id)).taken == frozenset()
    # The late payment can still be honoured: lock the same seats again and commit that.
    again = await theatre.lock(show_id, ["F1"], 30, "late payer", key())
    assert (await theatre.commit(again.lock_id, "late payer", 1100, "EUR", key())).seats == ("F1",)


async def test_commit_of_an_expired_lock_whose_seats_went_is_409(
    theatre: HttpTheatreSystem, sandbox: TheatreSandbox, show_id: str, theatre_clock: TheatreClock
) -> None:
    lock = await theatre.lock(show_id, ["F7", "F8"], 30, "late payer", key())
    theatre_clock.advance(31)
    assert (await sell_at_box_office(sandbox, show_id, ["F8"])).status == 201
    with pytest.raises(SeatsUnavailable) as gone:
        await theatre.commit(lock.lock_id, "late payer", 2200, "EUR", key())
    assert gone.value.seats == ("F8",)


async def test_a_repeated_commit_replays_one_ticket(
    theatre: HttpTheatreSystem, sandbox: TheatreSandbox, show_id: str
) -> None:
    lock = await theatre.lock(show_id, ["B9", "B10"], 300, "booking-9", key())
    commit_key = key()
    first = await theatre.commit(lock.lock_id, "booking-9", 2200, "EUR", commit_key)
    second = await theatre.commit(lock.lock_id, "booking-9", 2200, "EUR", commit_key)
    assert first == second
    # Even a commit under a new key (a worker that lost its key) gets the same single ticket.
    third = await theatre.commit(lock.lock_id, "booking-9", 2200, "EUR", key())
    assert third == first
    tickets = await sandbox.store.call(sandbox.store.tickets, show_id)
    assert [ticket["ticket_id"] for ticket in tickets] == [first.ticket_id]


async def test_a_repeated_lock_replays_the_same_lock(theatre: HttpTheatreSystem, show_id: str) -> None:
    lock_key = key()
    first = await theatre.lock(show_id, ["H1"], 300, "hold", lock_key)
    version = (await theatre.seat_status(show_id)).version
    second = await theatre.lock(show_id, ["H1"], 300, "hold", lock_key)
    assert second == first
    assert (await theatre.seat_status(show_id)).version == version


async def test_reusing_a_key_for_another_request_is_refused(theatre: HttpTheatreSystem, show_id: str) -> None:
    reused = key()
    await theatre.lock(show_id, ["H2"], 300, "hold", reused)
    with pytest.raises(TheatreRejected) as refused:
        await theatre.lock(show_id, ["H3"], 300, "hold", reused)
    assert (refused.value.status, refused.value.reason) == (422, "idempotency_key_reused")


async def test_cancel_frees_the_seats(theatre: HttpTheatreSystem, show_id: str) -> None:
    lock = await theatre.lock(show_id, ["E8"], 300, "booking", key())
    sale = await theatre.commit(lock.lock_id, "booking", 1100, "EUR", key())
    await theatre.cancel_ticket(sale.ticket_id, key())
    assert (await theatre.seat_status(show_id)).taken == frozenset()
    await theatre.cancel_ticket(sale.ticket_id, key())  # cancelling twice is fine
    with pytest.raises(TheatreRejected) as unknown:
        await theatre.cancel_ticket("T-NOPE", key())
    assert (unknown.value.status, unknown.value.reason) == (404, "ticket_not_found")


async def test_the_version_changes_on_every_change_and_only_then(
    theatre: HttpTheatreSystem, sandbox: TheatreSandbox, show_id: str, theatre_clock: TheatreClock
) -> None:
    versions = [(await theatre.seat_status(show_id)).version]

    async def changed() -> None:
        status = await theatre.seat_status(show_id)
        assert status.version > versions[-1]
        versions.append(status.version)

    first = await theatre.lock(show_id, ["A5"], 60, "r", key())
    await changed()
    await theatre.release(first.lock_id)
    await changed()
    await theatre.lock(show_id, ["A6"], 60, "r", key())
    await changed()
    theatre_clock.advance(61)  # nobody calls: the lock just runs out
    await changed()
    lock = await theatre.lock(show_id, ["A7"], 60, "r", key())
    await changed()
    sale = await theatre.commit(lock.lock_id, "r", 1100, "EUR", key())
    await changed()
    await theatre.cancel_ticket(sale.ticket_id, key())
    await changed()
    await sell_at_box_office(sandbox, show_id, ["A8"])
    await changed()
    # Reading changes nothing
    assert (await theatre.seat_status(show_id)).version == versions[-1]


async def test_a_box_office_sale_wins_over_a_later_lock(
    theatre: HttpTheatreSystem, sandbox: TheatreSandbox, show_id: str
) -> None:
    response = await sell_at_box_office(sandbox, show_id, ["D7", "D8"])
    assert response.status == 201
    assert (await theatre.seat_status(show_id)).sold == {"D7", "D8"}
    with pytest.raises(SeatsUnavailable) as refused:
        await theatre.lock(show_id, ["D6", "D7"], 300, "hold", key())
    assert refused.value.seats == ("D7",)


async def test_a_box_office_sale_of_locked_seats_is_refused_naming_them(
    theatre: HttpTheatreSystem, sandbox: TheatreSandbox, show_id: str
) -> None:
    await theatre.lock(show_id, ["D10"], 300, "hold", key())
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{sandbox.base_url}/boxoffice/shows/{show_id}/sell", json={"seats": ["D10", "D11"]}
        ) as response,
    ):
        assert response.status == 409
        assert (await response.json())["error"]["seats"] == ["D10"]


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


async def test_a_post_without_idempotency_key_is_refused(sandbox: TheatreSandbox, show_id: str) -> None:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}) as session,
        session.post(
            f"{sandbox.base_url}/v1/shows/{show_id}/locks",
            json={"seats": ["A3"], "ttl_seconds": 60, "reference": "x"},
        ) as response,
    ):
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "idempotency_key_required"


async def test_refusals_carry_the_theatres_code(
    theatre: HttpTheatreSystem, show_id: str, theatre_clock: TheatreClock
) -> None:
    cases = [
        (theatre.lock(show_id, ["Z99"], 60, "r", key()), 422, "unknown_seats"),
        (theatre.lock("no-such-show", ["A1"], 60, "r", key()), 404, "show_not_found"),
        (theatre.seat_status("no-such-show"), 404, "show_not_found"),
        (theatre.release("L-nope"), 404, "lock_not_found"),
        (theatre.commit("L-nope", "r", 1, "EUR", key()), 404, "lock_not_found"),
    ]
    for call, status, reason in cases:
        with pytest.raises(TheatreRejected) as refused:
            await call
        assert (refused.value.status, refused.value.reason) == (status, reason)
    lock = await theatre.lock(show_id, ["C1"], 60, "r", key())
    with pytest.raises(TheatreRejected) as wrong_amount:
        await theatre.commit(lock.lock_id, "r", 1, "EUR", key())
    assert wrong_amount.value.reason == "amount_mismatch"


async def test_a_lock_of_another_application_is_not_ours_to_commit(
    theatre: HttpTheatreSystem, rival: HttpTheatreSystem, show_id: str
) -> None:
    theirs = await rival.lock(show_id, ["C2"], 60, "theirs", key())
    with pytest.raises(TheatreRejected) as refused:
        await theatre.commit(theirs.lock_id, "ours", 1100, "EUR", key())
    assert refused.value.reason == "lock_not_found"


async def test_a_started_show_is_no_longer_on_sale(
    theatre: HttpTheatreSystem, show_id: str, theatre_clock: TheatreClock
) -> None:
    theatre_clock.advance(timedelta(days=4).total_seconds())
    with pytest.raises(TheatreRejected) as refused:
        await theatre.lock(show_id, ["A3"], 60, "r", key())
    assert refused.value.reason == "show_closed"


async def test_unknown_paths_answer_json_errors(sandbox: TheatreSandbox) -> None:
    headers = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(f"{sandbox.base_url}/v1/nothing") as response,
    ):
        assert response.status == 404
        body = await response.json()
    assert body["error"]["code"] == "not_found" and body["error"]["message"]


async def test_a_key_whose_first_request_is_still_running_is_answered_409(sandbox: TheatreSandbox) -> None:
    store = sandbox.store
    assert await store.call(store.keys.claim, "marquee", "k-1", "fingerprint") is None
    with pytest.raises(Refusal) as running:
        await store.call(store.keys.claim, "marquee", "k-1", "fingerprint")
    assert (running.value.status, running.value.code) == (409, "request_in_progress")
    await store.call(store.keys.finish, "marquee", "k-1", 201, '{"lock_id": "L-1"}')
    assert await store.call(store.keys.claim, "marquee", "k-1", "fingerprint") == (201, '{"lock_id": "L-1"}')

"""The `TheatreSystem` port's contract, one suite for every kind of link (docs/theatre-api.md and
docs/theatre-db.md promise the same behaviour): the sandbox theatre behind Theatre API v1 over real HTTP,
and a Theatre DB v1 database on SQLite, PostgreSQL and MariaDB, each with the cinema's own till selling
the same seats. What only one kind of link has is tested beside its adapter (tests/theatre/,
tests/theatre_db/).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import aiohttp
import pytest

from booking_core.theatre.port import LockExpired, SeatsUnavailable, TheatreRejected
from tests.support.clocks import TheatreClock
from tests.support.theatre_links import Adapter, TheatreLink, TillRefused


def key() -> str:
    return str(uuid.uuid4())


async def test_schedule_lists_the_chain_with_layouts_and_a_week_of_shows(
    theatre: Adapter, theatre_clock: TheatreClock
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
    big_hall = [show for show in schedule.shows if show.hall_external_id == "riverside-1"]
    assert big_hall and all(
        show.prices == {"standard": 1100, "premium": 1500, "wheelchair": 800} for show in big_hall
    )


async def test_schedule_keeps_to_its_window(theatre: Adapter, theatre_clock: TheatreClock) -> None:
    frm = theatre_clock.now + timedelta(days=2)
    to = frm + timedelta(hours=24)
    schedule = await theatre.schedule(frm, to)
    assert 5 <= len(schedule.shows) <= 7
    assert all(frm <= show.starts_at < to for show in schedule.shows)


async def test_lock_then_a_clashing_lock_is_refused_naming_only_the_taken_seats(
    theatre: Adapter, rival: Adapter, show_id: str, theatre_clock: TheatreClock
) -> None:
    # Given our lock on C5 and C6, priced when it was taken
    lock = await theatre.lock(show_id, ["C5", "C6"], 300, "hold-1", key())
    lasts = lock.expires_at - theatre_clock.now
    assert timedelta(seconds=299) <= lasts <= timedelta(seconds=300)
    assert (lock.amount_minor, lock.currency) == (2200, "EUR")
    status = await theatre.seat_status(show_id)
    assert status.locked == {"C5", "C6"} and status.sold == frozenset()
    # When another booking application asks for C6 and C7
    with pytest.raises(SeatsUnavailable) as refused:
        await rival.lock(show_id, ["C6", "C7"], 300, "their-hold", key())
    # Then it is told which seat went elsewhere (locked, not sold), and nothing of its request was locked
    assert (refused.value.seats, refused.value.sold) == (("C6",), ())
    assert (await theatre.seat_status(show_id)).locked == {"C5", "C6"}


async def test_seats_unavailable_says_which_seats_are_sold_and_which_locked(
    link: TheatreLink, theatre: Adapter, rival: Adapter, show_id: str
) -> None:
    await link.sell_at_till(show_id, ["E1"])
    await rival.lock(show_id, ["E2"], 60, "theirs", key())
    with pytest.raises(SeatsUnavailable) as refused:
        await theatre.lock(show_id, ["E1", "E2", "E3"], 60, "ours", key())
    assert (refused.value.seats, refused.value.sold) == (("E1", "E2"), ("E1",))


async def test_a_lapsed_lock_s_seats_are_taken_over(
    theatre: Adapter, rival: Adapter, show_id: str, theatre_clock: TheatreClock
) -> None:
    await theatre.lock(show_id, ["C8", "C9"], 30, "slow", key())
    theatre_clock.advance(31)
    assert (await theatre.seat_status(show_id)).taken == frozenset()
    assert (await rival.lock(show_id, ["C9", "C10"], 300, "theirs", key())).lock_id
    assert (await theatre.seat_status(show_id)).locked == {"C9", "C10"}


async def test_release_frees_the_seats_and_is_fine_for_released_and_expired_locks(
    theatre: Adapter, show_id: str, theatre_clock: TheatreClock
) -> None:
    lock = await theatre.lock(show_id, ["D1"], 60, "hold", key())
    await theatre.release(lock.lock_id)
    assert (await theatre.seat_status(show_id)).taken == frozenset()
    await theatre.release(lock.lock_id)  # again: fine
    # An expired lock releases quietly too
    expired = await theatre.lock(show_id, ["D2"], 60, "hold", key())
    theatre_clock.advance(61)
    await theatre.release(expired.lock_id)
    assert (await theatre.seat_status(show_id)).taken == frozenset()


async def test_commit_sells_the_locked_seats_and_a_committed_lock_cannot_be_released(
    link: TheatreLink, theatre: Adapter, show_id: str
) -> None:
    lock = await theatre.lock(show_id, ["E3", "E4", "G1"], 300, "booking-7", key())
    sale = await theatre.commit(lock.lock_id, "booking-7", 1100 + 1100 + 1500, "EUR", key())
    assert sale.ticket_id and sorted(sale.seats) == ["E3", "E4", "G1"]
    status = await theatre.seat_status(show_id)
    assert status.sold == {"E3", "E4", "G1"} and status.locked == frozenset()
    assert await link.ticket_ids(show_id) == [sale.ticket_id]
    with pytest.raises(TheatreRejected) as refused:
        await theatre.release(lock.lock_id)
    assert (refused.value.status, refused.value.reason) == (409, "lock_committed")


async def test_commit_of_an_expired_lock_is_lock_expired_while_its_seats_are_free(
    theatre: Adapter, show_id: str, theatre_clock: TheatreClock
) -> None:
    lock = await theatre.lock(show_id, ["F1"], 30, "late payer", key())
    theatre_clock.advance(31)
    with pytest.raises(LockExpired):
        await theatre.commit(lock.lock_id, "late payer", 1100, "EUR", key())
    assert (await theatre.seat_status(show_id)).taken == frozenset()
    # The late payment can still be honoured: lock the same seats again and commit that.
    again = await theatre.lock(show_id, ["F1"], 30, "late payer", key())
    assert (await theatre.commit(again.lock_id, "late payer", 1100, "EUR", key())).seats == ("F1",)


async def test_commit_of_an_expired_lock_whose_seats_went_to_the_till_names_them(
    link: TheatreLink, theatre: Adapter, show_id: str, theatre_clock: TheatreClock
) -> None:
    lock = await theatre.lock(show_id, ["F7", "F8"], 30, "late payer", key())
    theatre_clock.advance(31)
    await link.sell_at_till(show_id, ["F8"])
    with pytest.raises(SeatsUnavailable) as gone:
        await theatre.commit(lock.lock_id, "late payer", 2200, "EUR", key())
    assert gone.value.seats == ("F8",)


async def test_a_repeated_commit_replays_one_ticket_whatever_the_key_amount_or_reference(
    link: TheatreLink, theatre: Adapter, show_id: str
) -> None:
    lock = await theatre.lock(show_id, ["B9", "B10"], 300, "booking-9", key())
    commit_key = key()
    first = await theatre.commit(lock.lock_id, "booking-9", 2200, "EUR", commit_key)
    assert await theatre.commit(lock.lock_id, "booking-9", 2200, "EUR", commit_key) == first
    # Even a commit under a new key (a worker that lost its key) gets the same single ticket.
    assert await theatre.commit(lock.lock_id, "another", 2201, "EUR", key()) == first
    assert await link.ticket_ids(show_id) == [first.ticket_id]


async def test_a_repeated_lock_replays_the_same_lock(theatre: Adapter, show_id: str) -> None:
    lock_key = key()
    first = await theatre.lock(show_id, ["H1"], 300, "hold", lock_key)
    version = (await theatre.seat_status(show_id)).version
    assert await theatre.lock(show_id, ["H1"], 300, "hold", lock_key) == first
    assert (await theatre.seat_status(show_id)).version == version


async def test_reusing_a_key_for_another_request_is_refused(theatre: Adapter, show_id: str) -> None:
    reused = key()
    await theatre.lock(show_id, ["H2"], 300, "hold", reused)
    with pytest.raises(TheatreRejected) as refused:
        await theatre.lock(show_id, ["H3"], 300, "hold", reused)
    assert (refused.value.status, refused.value.reason) == (422, "idempotency_key_reused")


async def test_cancel_frees_the_seats(theatre: Adapter, show_id: str) -> None:
    lock = await theatre.lock(show_id, ["E8"], 300, "booking", key())
    sale = await theatre.commit(lock.lock_id, "booking", 1100, "EUR", key())
    await theatre.cancel_ticket(sale.ticket_id, key())
    assert (await theatre.seat_status(show_id)).taken == frozenset()
    await theatre.cancel_ticket(sale.ticket_id, key())  # cancelling twice is fine
    with pytest.raises(TheatreRejected) as unknown:
        await theatre.cancel_ticket("T-NOPE", key())
    assert (unknown.value.status, unknown.value.reason) == (404, "ticket_not_found")


async def test_the_version_changes_on_every_change_and_only_then(
    link: TheatreLink, theatre: Adapter, show_id: str, theatre_clock: TheatreClock
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
    lock = await theatre.lock(show_id, ["A6", "A7"], 60, "r", key())  # takes over the lapsed A6
    await changed()
    sale = await theatre.commit(lock.lock_id, "r", 2200, "EUR", key())
    await changed()
    await theatre.cancel_ticket(sale.ticket_id, key())
    await changed()
    await link.sell_at_till(show_id, ["A8"])
    await changed()
    # Reading changes nothing
    assert (await theatre.seat_status(show_id)).version == versions[-1]


async def test_a_till_sale_wins_over_a_later_lock(link: TheatreLink, theatre: Adapter, show_id: str) -> None:
    await link.sell_at_till(show_id, ["D7", "D8"])
    assert (await theatre.seat_status(show_id)).sold == {"D7", "D8"}
    with pytest.raises(SeatsUnavailable) as refused:
        await theatre.lock(show_id, ["D6", "D7"], 300, "hold", key())
    assert (refused.value.seats, refused.value.sold) == (("D7",), ("D7",))


async def test_a_till_sale_of_locked_seats_is_refused_naming_them(
    link: TheatreLink, theatre: Adapter, show_id: str
) -> None:
    await theatre.lock(show_id, ["D10"], 300, "hold", key())
    with pytest.raises(TillRefused) as refused:
        await link.sell_at_till(show_id, ["D10", "D11"])
    assert refused.value.seats == ("D10",)
    assert (await theatre.seat_status(show_id)).sold == frozenset()


async def test_a_person_sells_seats_from_the_box_office_page(
    link: TheatreLink, theatre: Adapter, show_id: str
) -> None:
    async with aiohttp.ClientSession(base_url=link.till_url) as browser:
        # Given the list of shows, with a link to our show
        async with browser.get("/boxoffice") as listing:
            assert listing.status == 200 and listing.content_type == "text/html"
            assert f'href="/boxoffice/shows/{show_id}"' in await listing.text()
        # When the seller ticks two seats and presses Sell
        async with browser.post(
            f"/boxoffice/shows/{show_id}/sell", data=[("seat", "E6"), ("seat", "E7")], allow_redirects=False
        ) as sold:
            assert sold.status == 303
        async with browser.get(sold.headers["Location"]) as page:
            html = await page.text()
        # Then the page confirms the ticket and shows the seats as sold, not tickable
        assert re.search(r"Sold: ticket [\w-]+ \(E6, E7\)", html)
        e6 = re.search(r'class="seat (\w+) standard"[^>]*><input [^>]*value="E6"( disabled)?', html)
        assert e6 and e6.groups() == ("sold", " disabled")
        assert (await theatre.seat_status(show_id)).sold == {"E6", "E7"}
        # And selling a taken seat again says which
        async with browser.post(f"/boxoffice/shows/{show_id}/sell", data=[("seat", "E6")]) as again:
            assert re.search(r"Not sold: [^<]*E6", await again.text())


async def test_refusals_carry_the_contracts_codes(theatre: Adapter, show_id: str) -> None:
    cases = [
        (theatre.lock(show_id, ["Z99"], 60, "r", key()), 422, "unknown_seats"),
        (theatre.lock("no-such-show", ["A1"], 60, "r", key()), 404, "show_not_found"),
        (theatre.lock(show_id, [], 60, "r", key()), 400, "invalid_request"),
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
    assert theatre.breaker.consecutive_failures == 0  # refusals are answers: the theatre is up


async def test_a_lock_of_another_application_is_not_ours_to_commit(
    theatre: Adapter, rival: Adapter, show_id: str
) -> None:
    theirs = await rival.lock(show_id, ["C2"], 60, "theirs", key())
    with pytest.raises(TheatreRejected) as refused:
        await theatre.commit(theirs.lock_id, "ours", 1100, "EUR", key())
    assert refused.value.reason == "lock_not_found"


async def test_a_started_show_is_no_longer_on_sale_nor_cancelled(
    theatre: Adapter, show_id: str, theatre_clock: TheatreClock
) -> None:
    lock = await theatre.lock(show_id, ["A4"], 60, "r", key())
    sale = await theatre.commit(lock.lock_id, "r", 1100, "EUR", key())
    theatre_clock.advance(timedelta(days=4).total_seconds())
    with pytest.raises(TheatreRejected) as refused:
        await theatre.lock(show_id, ["A3"], 60, "r", key())
    assert refused.value.reason == "show_closed"
    with pytest.raises(TheatreRejected) as too_late:
        await theatre.cancel_ticket(sale.ticket_id, key())
    assert too_late.value.reason == "show_started"


async def test_a_commit_after_the_show_started_is_refused_show_closed_and_sells_nothing(
    link: TheatreLink, theatre: Adapter, show_id: str, theatre_clock: TheatreClock
) -> None:
    lock = await theatre.lock(show_id, ["D3"], 1800, "r", key())
    theatre_clock.advance(timedelta(days=4).total_seconds())
    with pytest.raises(TheatreRejected) as refused:
        await theatre.commit(lock.lock_id, "late", lock.amount_minor, "EUR", key())
    assert (refused.value.status, refused.value.reason) == (422, "show_closed")
    assert await link.ticket_ids(show_id) == []

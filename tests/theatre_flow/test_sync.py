"""Schedule syncs from a connected theatre: all or nothing, bad rows named, removed shows settled."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from booking_core.bookings.confirmation import ConfirmationOutcome
from booking_core.events import RefundStarted
from booking_core.holds.store import HoldRefusalReason, HoldRefused
from booking_core.models import BookingStatus, Hall, Movie, Seat, Show, ShowPrice, utc_now
from tests.theatre_flow.stand import Stand


async def catalogue(stand: Stand) -> dict[str, Any]:
    """Everything a sync may change, to compare before and after."""
    async with stand.core.sessions() as session:
        shows = await session.execute(
            select(Show.external_id, Show.on_sale, Show.starts_at, Show.hall_id, Show.movie_id).order_by(
                Show.id
            )
        )
        prices = await session.execute(
            select(ShowPrice.show_id, ShowPrice.category, ShowPrice.amount_minor).order_by(
                ShowPrice.show_id, ShowPrice.category
            )
        )
        counts = [
            await session.scalar(select(func.count()).select_from(kind)) for kind in (Movie, Hall, Seat)
        ]
        return {"shows": shows.all(), "prices": prices.all(), "counts": counts}


async def test_the_first_sync_brings_the_whole_schedule_and_a_second_changes_nothing(stand: Stand) -> None:
    store = stand.sandbox.store
    listed = await store.call(store.upcoming_shows, 500)
    async with stand.core.sessions() as session:
        ours = set(await session.scalars(select(Show.external_id).where(Show.on_sale.is_(True))))
    assert ours == {f"northlight:{show['id']}" for show in listed}
    report = await stand.sync()
    assert report.ok and report.imported is not None and not report.imported.changed


async def test_a_schedule_with_a_bad_row_changes_nothing_and_names_the_row(stand: Stand) -> None:
    # Given a synced catalogue
    _, bad = await stand.show()
    _, dropped = await stand.show(skip=1)
    before = await catalogue(stand)
    # When the theatre's schedule drops a show (which alone would withdraw it) and has a bad price row
    await stand.remove_show(dropped)
    await stand.change_theatre(
        "UPDATE show_prices SET amount = -100 WHERE show_id = ? AND category = 'premium'", bad
    )
    report = await stand.sync()
    # Then the sync is refused whole, naming the row by the theatre's id, and nothing changed
    assert not report.ok and report.imported is None
    assert [problem for problem in report.problems if problem.startswith(f"show {bad} ")], report.problems
    assert "prices" in report.summary()
    assert await catalogue(stand) == before


async def test_a_schedule_that_contradicts_itself_changes_nothing_and_names_the_show(stand: Stand) -> None:
    _, bad = await stand.show()
    before = await catalogue(stand)
    # A show without a price for a seat category of its hall
    await stand.change_theatre("DELETE FROM show_prices WHERE show_id = ? AND category = 'premium'", bad)
    report = await stand.sync()
    assert not report.ok and report.error is None
    assert [problem for problem in report.problems if problem.startswith(f"show {bad} (shows[")], report
    assert await catalogue(stand) == before


async def test_a_show_the_theatre_removed_stops_being_sold_and_its_open_bookings_are_settled(
    stand: Stand,
) -> None:
    # Given a show with a booking awaiting payment, one paid while the theatre was down, and a sold one
    show_id, theatre_show = await stand.show()
    unpaid = await stand.buy(show_id, 20, "A3")
    sold = await stand.buy(show_id, 22, "A7")
    assert (await stand.pay(sold)).outcome == ConfirmationOutcome.CONFIRMED
    waiting = await stand.buy(show_id, 21, "A5")
    await stand.sandbox.stop()
    assert (await stand.pay(waiting)).outcome == ConfirmationOutcome.PAID_UNCONFIRMED
    await stand.sandbox.start()
    await stand.wait_for_breaker()

    # When the theatre drops the show and the schedule is synced
    await stand.remove_show(theatre_show)
    report = await stand.sync()

    # Then the show is off sale: no holds, a closed map
    assert report.ok and report.imported is not None and report.imported.withdrawn_show_ids == (show_id,)
    assert await stand.hold(show_id, 23, "B1") == HoldRefused(HoldRefusalReason.SHOW_STARTED)
    assert (await stand.holds.seat_map(show_id, 23)).closed
    # the unpaid booking is cancelled (its checkout returned for expiring), the paid one refunded
    gone = report.withdrawn
    assert (gone.cancelled, gone.refunded, gone.confirmed) == (1, 1, 1)
    assert [checkout.checkout_id for checkout in gone.checkouts_to_expire] == [unpaid.checkout_id]
    assert (await stand.booking(unpaid.booking_id)).status == BookingStatus.CANCELLED
    assert (await stand.booking(waiting.booking_id)).status == BookingStatus.REFUND_PENDING
    assert [e.booking_id for e in stand.sink.events if isinstance(e, RefundStarted)] == [waiting.booking_id]
    assert [due.booking_id for due in await stand.core.bookings.refund_due()] == [waiting.booking_id]
    # a payment arriving anyway for the cancelled one goes back too
    assert (await stand.pay(unpaid)).outcome == ConfirmationOutcome.REFUND_PENDING
    # and nothing is left owed to the theatre once the worker has looked
    await stand.finish(utc_now())
    assert await stand.waiting_for_theatre() == 0

"""/mytickets: what a customer sees of their bookings, upcoming and past."""

from __future__ import annotations

from datetime import timedelta

from booking_core.bookings.cancellation import cancel_booking
from booking_core.bookings.service import list_tickets, ticket_view
from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.holds.store import HoldStore
from booking_core.models import BookingStatus, utc_now
from booking_core.tickets.codes import is_valid_ticket_code
from tests.bookings.flow import buy_until_checkout, confirm, payment
from tests.factories import make_show


async def test_upcoming_and_past_bookings_with_what_a_ticket_shows(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    now = utc_now()
    # Given a customer with a show tomorrow, one in three days, one within the cut-off, one cancelled,
    # one refused for a wrong amount and one never paid
    tomorrow = await make_show(sessions, starts_at=now + timedelta(days=1))
    later = await make_show(sessions, starts_at=now + timedelta(days=3))
    soon = await make_show(sessions, starts_at=now + timedelta(minutes=30))
    cancelled_show = await make_show(sessions, starts_at=now + timedelta(days=2))
    unpaid_show = await make_show(sessions, starts_at=now + timedelta(days=2))
    bought = {}
    for name, show in (
        ("tomorrow", tomorrow),
        ("later", later),
        ("soon", soon),
        ("cancelled", cancelled_show),
    ):
        checkout = await buy_until_checkout(sessions, holds, show.show_id, 300, show.seat_ids[1:3])
        await confirm(sessions, holds, sink, payment(checkout))
        bought[name] = checkout.booking_id
    mismatch = await buy_until_checkout(sessions, holds, later.show_id, 300, later.seat_ids[5:6])
    await confirm(sessions, holds, sink, payment(mismatch, amount_minor=1))
    await buy_until_checkout(sessions, holds, unpaid_show.show_id, 300, unpaid_show.seat_ids[:1])
    await cancel_booking(sessions, holds, sink, bought["cancelled"], 300, cancel_cutoff=timedelta(minutes=60))
    # And another customer's ticket
    other = await buy_until_checkout(sessions, holds, tomorrow.show_id, 301, tomorrow.seat_ids[4:5])
    await confirm(sessions, holds, sink, payment(other))

    # When they look at their tickets
    upcoming, past = await list_tickets(sessions, 300, now, cancel_cutoff=timedelta(minutes=60))

    assert [t.booking_id for t in upcoming] == [
        bought["soon"],
        bought["tomorrow"],
        bought["later"],
        mismatch.booking_id,
    ]
    first = upcoming[1]
    assert first.status == BookingStatus.CONFIRMED and first.can_cancel
    assert first.seat_labels == ("A2", "A3") and (first.amount_minor, first.currency) == (2400, "EUR")
    assert first.view is not None and first.code is not None and is_valid_ticket_code(first.view.code)
    assert (first.view.code, first.view.seat_labels, first.view.timezone) == (
        first.code,
        ("A2", "A3"),
        "Europe/Berlin",
    )
    assert not upcoming[0].can_cancel  # within the cut-off
    refused = upcoming[3]
    assert (refused.status, refused.view, refused.code, refused.can_cancel) == (
        "refund_pending",
        None,
        None,
        False,
    )
    assert "amount mismatch" in (refused.status_reason or "")
    assert [(t.booking_id, t.status, t.view) for t in past] == [(bought["cancelled"], "cancelled", None)]
    # Once the early show has started, it is in the past, most recent first
    upcoming_later, past_later = await list_tickets(sessions, 300, now + timedelta(hours=1))
    assert bought["soon"] not in [t.booking_id for t in upcoming_later]
    assert [t.booking_id for t in past_later] == [bought["cancelled"], bought["soon"]]


async def test_the_ticket_view_for_delivery_exists_only_for_standing_tickets(
    sessions: SessionFactory, holds: HoldStore, sink: CollectingSink
) -> None:
    show = await make_show(sessions)
    checkout = await buy_until_checkout(sessions, holds, show.show_id, 310, show.seat_ids[:1])
    assert await ticket_view(sessions, checkout.booking_id) is None
    await confirm(sessions, holds, sink, payment(checkout))
    view = await ticket_view(sessions, checkout.booking_id)
    assert view is not None and view.seat_labels == ("A1",) and view.movie_title.startswith("Movie")
    await cancel_booking(sessions, holds, sink, checkout.booking_id, 310, cancel_cutoff=timedelta(0))
    assert await ticket_view(sessions, checkout.booking_id) is None

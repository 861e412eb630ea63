"""A local cinema's import withdraws or moves a show with confirmed bookings: the customers are told,
a withdrawn show's bookings are cancelled and refunded, a moved show's reminder moves with it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from booking_core.bookings.checkout import PaymentStatus
from booking_core.models import BookedSeat, Booking, Payment, Seat, Show, Ticket, utc_now
from roles.commands import import_catalogue_file
from sandbox.telegram import ChatMessage
from tests.delivery_flow.stand import Stand, poll
from tests.factories import ShowFixture
from workers.outbox_relay import relay_due

SHOW = "kino-am-see/evening"
REMINDER = ("telegram", "reminder")


def catalogue(starts_at: datetime | None) -> dict[str, Any]:
    """Kino am See's whole schedule: one hall, one movie, and the evening show unless withdrawn (None)."""
    shows = []
    if starts_at is not None:
        show = {"id": SHOW, "cinema": "kino-am-see", "hall": "Saal 1", "movie": "paper-comets"}
        shows.append(
            {**show, "starts_at": starts_at.isoformat(), "currency": "EUR", "prices": {"standard": 1190}}
        )
    return {
        "version": 1,
        "cities": [{"name": "Seestadt", "latitude": 52.1, "longitude": 13.2, "timezone": "Europe/Berlin"}],
        "cinemas": [
            {
                "id": "kino-am-see",
                "name": "Kino am See",
                "city": "Seestadt",
                "address": "Uferweg 1",
                "latitude": 52.1,
                "longitude": 13.2,
                "timezone": "Europe/Berlin",
                "system": "local",
            }
        ],
        "halls": [{"cinema": "kino-am-see", "name": "Saal 1", "rows": [{"label": "A", "layout": "SSSSSS"}]}],
        "movies": [
            {
                "id": "paper-comets",
                "title": "Paper Comets",
                "runtime_minutes": 96,
                "age_rating": "0+",
                "language": "en",
                "synopsis": "Two siblings fold a comet out of letters.",
            }
        ],
        "shows": shows,
    }


async def import_file(stand: Stand, tmp_path: Path, starts_at: datetime | None) -> None:
    """`python main.py catalog import FILE`, as an operator runs it, against the stand's database."""
    path = tmp_path / f"schedule-{utc_now().timestamp()}.json"
    path.write_text(json.dumps(catalogue(starts_at)))
    assert await import_catalogue_file(stand.settings, path) == 0


async def booked_show(stand: Stand, tmp_path: Path, user_id: int, starts_at: datetime) -> tuple[int, int]:
    """The show imported from the schedule, and a confirmed booking of two of its seats: (show, booking)."""
    await import_file(stand, tmp_path, starts_at)
    async with stand.ctx.sessions() as session:
        show = await session.scalar(select(Show).where(Show.external_id == SHOW))
        assert show is not None
        seat_ids = list(
            await session.scalars(select(Seat.id).where(Seat.hall_id == show.hall_id).order_by(Seat.id))
        )
    fixture = ShowFixture(show.id, show.hall_id, 0, seat_ids)
    return show.id, await stand.confirmed_booking(user_id, show=fixture)


async def notice(stand: Stand, user_id: int, words: str) -> ChatMessage:
    """The Telegram message to the customer that contains `words`, once a worker has sent it."""
    async with stand.worker():
        assert await relay_due(stand.ctx, utc_now()) >= 1
        messages = await poll(
            lambda: [
                m for m in stand.sandboxes.telegram.chat(user_id) if m.from_bot and words in (m.text or "")
            ],
            bool,
        )
    return messages[0]


async def test_a_withdrawn_show_cancels_and_refunds_its_bookings_and_tells_the_customers(
    stand: Stand, tmp_path: Path
) -> None:
    # Given a confirmed booking of a local show the day after tomorrow
    starts_at = (utc_now() + timedelta(days=2)).replace(microsecond=0)
    _show_id, booking_id = await booked_show(stand, tmp_path, 7101, starts_at)
    # When the cinema's next schedule no longer lists the show
    await import_file(stand, tmp_path, None)
    # Then the booking is cancelled and its payment marked for refund, its seats no longer sold
    async with stand.ctx.sessions() as session:
        booking = await session.get(Booking, booking_id)
        assert booking is not None and booking.status == "refund_pending"
        payments = list(await session.scalars(select(Payment).where(Payment.booking_id == booking_id)))
        assert [p.status for p in payments] == [PaymentStatus.REFUND_PENDING]
        assert await session.scalar(select(BookedSeat).where(BookedSeat.booking_id == booking_id)) is None
        ticket = await session.scalar(select(Ticket).where(Ticket.booking_id == booking_id))
        assert ticket is not None and ticket.cancelled_at is not None
    assert [due.booking_id for due in await stand.ctx.bookings.refund_due()] == [booking_id]
    # And the workers tell the customer
    told = await notice(stand, 7101, "withdrawn")
    assert "Paper Comets" in (told.text or "") and "refunded" in (told.text or "")
    # And the show's reminder will never go out
    assert (await stand.rows(booking_id))[REMINDER].status == "failed"


async def test_a_moved_show_tells_its_customers_moves_the_reminder_and_offers_a_refund(
    stand: Stand, tmp_path: Path
) -> None:
    # Given a confirmed booking of a local show, with its reminder two hours before
    starts_at = (utc_now() + timedelta(days=2)).replace(microsecond=0)
    _show_id, booking_id = await booked_show(stand, tmp_path, 7102, starts_at)
    reminder_before = (await stand.rows(booking_id))[REMINDER].due_at
    # When the cinema's next schedule moves it three hours later
    await import_file(stand, tmp_path, starts_at + timedelta(hours=3))
    # Then the booking stands and the reminder moved with the show
    async with stand.ctx.sessions() as session:
        booking = await session.get(Booking, booking_id)
        assert booking is not None and booking.status == "confirmed"
    reminder = (await stand.rows(booking_id))[REMINDER]
    assert (reminder.status, reminder.due_at) == ("pending", reminder_before + timedelta(hours=3))
    # And the customer is told the new time, with a button to cancel for a refund
    told = await notice(stand, 7102, "new time")
    assert "Paper Comets" in (told.text or "")
    assert [b["callback_data"] for b in told.buttons()] == [f"v1:cx:{booking_id}", "v1:mytickets"]

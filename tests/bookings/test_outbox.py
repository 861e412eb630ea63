"""The outbox: a row per channel written with the sale, claimed once by relays, statuses moving forward."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import select

from booking_core.database import SessionFactory
from booking_core.models import BookingStatus, Customer, Notification, NotificationStatus, utc_now
from booking_core.tickets.outbox import (
    Channel,
    NotificationKind,
    TicketNotifications,
    add_ticket_notifications,
    due_notifications,
    mark_delivered,
    mark_failed,
    mark_sent,
    record_attempt,
    record_delivery_report,
)
from tests.bookings.builders import make_booking
from tests.conftest import postgresql_only
from tests.factories import make_customer, make_show


async def _write(
    sessions: SessionFactory, booking_id: int, customer_id: int, starts_at: datetime, now: datetime
) -> None:
    async with sessions() as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        ticket = TicketNotifications(booking_id, customer, starts_at, now, reminder_minutes=120)
        await add_ticket_notifications(session, [ticket])
        await session.commit()


async def _rows(sessions: SessionFactory, booking_id: int) -> list[Notification]:
    async with sessions() as session:
        query = select(Notification).where(Notification.booking_id == booking_id).order_by(Notification.id)
        return list(await session.scalars(query))


async def _confirmed_booking(
    sessions: SessionFactory, user: int, starts_in: timedelta, **contact: str
) -> tuple:
    show = await make_show(sessions, rows=1, seats_per_row=4, starts_at=utc_now() + starts_in)
    customer_id = await make_customer(sessions, user, **contact)
    booking_id = await make_booking(
        sessions, show.show_id, customer_id, show.seat_ids[:2], status=BookingStatus.CONFIRMED
    )
    return show, customer_id, booking_id


async def test_a_ticket_goes_to_every_channel_the_customer_has_and_a_reminder_before_the_show(
    sessions: SessionFactory,
) -> None:
    now = utc_now()
    starts_at = now + timedelta(days=2)
    telegram_only = await _confirmed_booking(sessions, 11, timedelta(days=2))
    everything = await _confirmed_booking(
        sessions, 12, timedelta(days=2), phone="+442079460958", email="a@b.org"
    )

    await _write(sessions, telegram_only[2], telegram_only[1], starts_at, now)
    await _write(sessions, everything[2], everything[1], starts_at, now)

    rows = await _rows(sessions, telegram_only[2])
    assert [(r.channel, r.kind, r.destination) for r in rows] == [
        ("telegram", "ticket", "11"),
        ("telegram", "reminder", "11"),
    ]
    assert rows[1].due_at == starts_at - timedelta(minutes=120)
    rows = await _rows(sessions, everything[2])
    assert [(r.channel, r.kind, r.destination) for r in rows] == [
        ("telegram", "ticket", "12"),
        ("sms", "ticket", "+442079460958"),
        ("email", "ticket", "a@b.org"),
        ("telegram", "reminder", "12"),
    ]
    assert all(r.status == NotificationStatus.PENDING and r.due_at <= starts_at for r in rows)


async def test_no_reminder_when_the_show_is_closer_than_the_reminder_time(sessions: SessionFactory) -> None:
    now = utc_now()
    _show, customer_id, booking_id = await _confirmed_booking(sessions, 13, timedelta(minutes=30))
    await _write(sessions, booking_id, customer_id, now + timedelta(minutes=30), now)
    assert [r.kind for r in await _rows(sessions, booking_id)] == ["ticket"]


async def test_due_rows_are_claimed_once_until_their_lease_lapses(sessions: SessionFactory) -> None:
    now = utc_now()
    _show, customer_id, booking_id = await _confirmed_booking(
        sessions, 14, timedelta(days=1), email="x@y.org"
    )
    await _write(sessions, booking_id, customer_id, now + timedelta(days=1), now)

    first = await due_notifications(sessions, now, limit=10, lease=timedelta(minutes=5))
    again = await due_notifications(sessions, now + timedelta(minutes=1), limit=10)
    after_lease = await due_notifications(sessions, now + timedelta(minutes=6), limit=1)

    # The two tickets, not the reminder (due the day after)
    assert sorted((d.channel, d.kind) for d in first) == [
        (Channel.EMAIL, NotificationKind.TICKET),
        (Channel.TELEGRAM, NotificationKind.TICKET),
    ]
    assert again == []
    assert len(after_lease) == 1
    # A day later the unsent tickets are due again (their leases lapsed) and so is the reminder
    later = await due_notifications(sessions, now + timedelta(days=1), limit=10)
    assert sorted(d.kind for d in later) == ["reminder", "ticket", "ticket"]


@postgresql_only
async def test_relays_polling_at_once_never_claim_the_same_row(sessions: SessionFactory) -> None:
    now = utc_now()
    for user in range(20, 30):
        _show, customer_id, booking_id = await _confirmed_booking(sessions, user, timedelta(days=1))
        await _write(sessions, booking_id, customer_id, now + timedelta(days=1), now)

    batches = await asyncio.gather(*(due_notifications(sessions, now, limit=3) for _ in range(6)))

    claimed = [d.id for batch in batches for d in batch]
    assert len(claimed) == 10  # every due ticket row once; the reminders are not due
    assert len(set(claimed)) == len(claimed)


async def test_rows_of_bookings_that_no_longer_stand_are_not_sent(sessions: SessionFactory) -> None:
    now = utc_now()
    show = await make_show(sessions, rows=1, seats_per_row=4)
    customer_id = await make_customer(sessions, 31)
    booking_id = await make_booking(
        sessions, show.show_id, customer_id, show.seat_ids[:1], status=BookingStatus.CANCELLED
    )
    await _write(sessions, booking_id, customer_id, now + timedelta(days=1), now)
    assert await due_notifications(sessions, now, limit=10) == []


async def test_status_only_moves_forward(sessions: SessionFactory) -> None:
    now = utc_now()
    _show, customer_id, booking_id = await _confirmed_booking(
        sessions, 32, timedelta(days=1), phone="+442079460958"
    )
    await _write(sessions, booking_id, customer_id, now + timedelta(days=1), now)
    telegram, sms, _reminder = await _rows(sessions, booking_id)

    # A failed try is counted and pushed back
    assert await record_attempt(sessions, sms.id, "timeout", now + timedelta(seconds=30))
    assert await mark_sent(sessions, sms.id, now, provider_message_id="SM123")
    assert await record_delivery_report(sessions, "SM123", NotificationStatus.DELIVERED)
    # Late or repeated reports cannot undo delivery
    assert not await record_delivery_report(sessions, "SM123", NotificationStatus.SENT)
    assert not await mark_failed(sessions, sms.id, "undelivered")
    assert not await mark_sent(sessions, sms.id, now)
    assert not await record_attempt(sessions, sms.id, "late retry", now)
    # Sent may still fail (an SMS reported undelivered); failed is final
    assert await mark_sent(sessions, telegram.id, now)
    assert await mark_failed(sessions, telegram.id, "blocked by user")
    assert not await mark_delivered(sessions, telegram.id)

    telegram, sms, _reminder = await _rows(sessions, booking_id)
    assert (sms.status, sms.attempts, sms.last_error, sms.provider_message_id) == (
        "delivered",
        2,
        "timeout",
        "SM123",
    )
    assert (telegram.status, telegram.last_error) == ("failed", "blocked by user")

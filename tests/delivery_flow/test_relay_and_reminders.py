"""The periodic relay: rows left unsent are picked up again, and reminders go out once, when due."""

from __future__ import annotations

from datetime import timedelta

from booking_core.models import utc_now
from booking_core.tickets.outbox import DEFAULT_LEASE, due_notifications
from tests.delivery_flow.stand import Stand
from workers.outbox_relay import relay_due, relay_new
from workers.telegram_tickets import MY_TICKETS_CALLBACK

TELEGRAM = ("telegram", "ticket")
EMAIL = ("email", "ticket")
REMINDER = ("telegram", "reminder")


async def test_a_sale_whose_relay_never_ran_is_delivered_by_the_periodic_pass(stand: Stand) -> None:
    # Given a sale committed by a process that died before it could enqueue the deliveries
    booking_id = await stand.confirmed_booking(5301, email="cy@example.com")

    async with stand.worker():
        # When the periodic pass runs
        assert await relay_due(stand.ctx, utc_now()) == 2
        rows = await stand.wait_for_rows(
            booking_id, lambda rows: rows[TELEGRAM].status == rows[EMAIL].status == "sent"
        )
        # and runs again
        assert await relay_due(stand.ctx, utc_now()) == 0

    # Then the ticket arrived once on each channel
    assert len([m for m in stand.sandboxes.telegram.chat(5301) if m.from_bot]) == 1
    assert len(stand.sandboxes.mailbox.messages) == 1
    assert rows[TELEGRAM].attempts == rows[EMAIL].attempts == 1


async def test_a_row_claimed_but_never_enqueued_comes_back_after_its_lease(stand: Stand) -> None:
    # Given a relay that claimed the sale's rows and died before enqueueing them
    booking_id = await stand.confirmed_booking(5302)
    now = utc_now()
    [claimed] = await due_notifications(stand.ctx.sessions, now, 10, booking_id=booking_id)

    async with stand.worker():
        # Then the periodic pass leaves it alone while the lease runs
        assert await relay_due(stand.ctx, now + DEFAULT_LEASE - timedelta(seconds=1)) == 0
        # And takes it once the lease has lapsed
        assert await relay_due(stand.ctx, now + DEFAULT_LEASE + timedelta(seconds=1)) == 1
        rows = await stand.wait_for_rows(booking_id, lambda rows: rows[TELEGRAM].status == "sent")

    assert rows[TELEGRAM].id == claimed.id
    assert len([m for m in stand.sandboxes.telegram.chat(5302) if m.from_bot]) == 1


async def test_a_reminder_goes_out_once_two_hours_before_the_show(stand: Stand) -> None:
    # Given a ticket for a show three hours from now, already delivered
    booking_id = await stand.confirmed_booking(5303, starts_in=timedelta(hours=3))
    async with stand.worker():
        await relay_new(stand.ctx, booking_id)
        rows = await stand.wait_for_rows(booking_id, lambda rows: rows[TELEGRAM].status == "sent")
        remind_at = rows[REMINDER].due_at
        assert rows[REMINDER].status == "pending"

        # When the periodic pass runs before the reminder is due, nothing goes
        assert await relay_due(stand.ctx, remind_at - timedelta(seconds=1)) == 0
        # When it runs once it is due, the reminder goes; later passes send nothing more
        assert await relay_due(stand.ctx, remind_at + timedelta(seconds=1)) == 1
        rows = await stand.wait_for_rows(booking_id, lambda rows: rows[REMINDER].status == "sent")
        assert await relay_due(stand.ctx, remind_at + timedelta(minutes=30)) == 0

    # Then the reminder was due two hours (the default) before the show, and the chat holds it once
    view = await stand.ctx.bookings.ticket_view(booking_id)
    assert view is not None
    assert remind_at == view.starts_at - timedelta(hours=2)
    ticket, reminder = [m for m in stand.sandboxes.telegram.chat(5303) if m.from_bot]
    assert ticket.kind == "photo" and reminder.kind == "text" and reminder.text is not None
    assert "Reminder" in reminder.text and view.movie_title in reminder.text and view.code in reminder.text
    assert reminder.callback_data() == [MY_TICKETS_CALLBACK]
    assert rows[REMINDER].provider_message_id == str(reminder.message_id)

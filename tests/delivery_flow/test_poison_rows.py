"""Poison inputs end, they never loop: an address with a line break is refused, a row that breaks its
sender is failed after MAX_ATTEMPTS tries (counted in /metrics, logged once), and the provider's
error texts reach neither the log nor the row with the customer's number or address in them.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select, update

from booking_core.bookings.customers import find_customer, get_or_create_customer, set_email
from booking_core.bookings.errors import InvalidContact
from booking_core.models import Notification, utc_now
from roles.logging_setup import configure_logging
from tests.delivery_flow.stand import Stand
from workers.delivery import MAX_ATTEMPTS
from workers.outbox_relay import relay_due, relay_new

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(BasicAuth|'auth' parameter) is deprecated:DeprecationWarning"
)

SMS = ("sms", "ticket")
EMAIL = ("email", "ticket")


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """The process's log lines as operators see them (the roles' own logging set-up)."""
    stream = io.StringIO()
    configure_logging("text")
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    yield stream
    logging.getLogger().handlers.clear()


@pytest.mark.parametrize("address", ["bo\n@example.com", "bo@example\n.com", "bo\r@example.com"])
async def test_an_address_with_a_line_break_is_refused_and_nothing_is_stored(
    stand: Stand, address: str
) -> None:
    # Given a customer without an email address
    await get_or_create_customer(stand.ctx.sessions, 6101, chat_id=6101)
    # When they give one with a line break inside
    with pytest.raises(InvalidContact) as refused:
        await set_email(stand.ctx.sessions, 6101, address)
    # Then it is refused as an invalid address, and none is stored
    assert refused.value.code == "invalid_email"
    customer = await find_customer(stand.ctx.sessions, 6101)
    assert customer is not None and customer.email is None


async def test_a_row_that_breaks_its_sender_fails_after_max_attempts_and_is_counted_once(
    stand: Stand, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a sale whose email row holds an address stored before validation was tightened
    booking_id = await stand.confirmed_booking(6102, email="bo@example.com")
    async with stand.ctx.sessions() as session, session.begin():
        await session.execute(
            update(Notification)
            .where(Notification.booking_id == booking_id, Notification.channel == "email")
            .values(destination="bo\n@example.com")
        )

    with caplog.at_level(logging.INFO):
        async with stand.worker():
            # When the sale is relayed: building the email raises on every try
            await relay_new(stand.ctx, booking_id)
            rows = await stand.wait_for_rows(booking_id, lambda rows: rows[EMAIL].status == "failed")
            # and the periodic pass runs well past every lease
            assert await relay_due(stand.ctx, utc_now() + timedelta(minutes=30)) == 0

    # Then every try was counted, MAX_ATTEMPTS in all, and the row says why it gave up
    email = rows[EMAIL]
    assert email.attempts == MAX_ATTEMPTS
    assert email.last_error is not None and email.last_error.startswith(f"gave up after {MAX_ATTEMPTS}")
    assert "ValueError" in email.last_error
    assert rows[("telegram", "ticket")].status == "sent"
    # And the give-up was logged once
    gave_up = [
        r for r in caplog.records if "failed after" in r.getMessage() and f"row {email.id} " in r.getMessage()
    ]
    assert len(gave_up) == 1
    # And /metrics counts the failed row
    async with aiohttp.ClientSession() as http, http.get(f"{stand.web_url}/metrics") as response:
        exposition = await response.text()
    assert 'marquee_notifications_failed{channel="email"} 1.0' in exposition


async def test_provider_errors_are_logged_and_stored_with_numbers_and_addresses_masked(
    stand: Stand, log_output: io.StringIO
) -> None:
    # Given a number Twilio refuses (its error text names it) and an address the mail server refuses
    stand.sandboxes.mailbox.refusals["gone@example.com"] = "550 5.1.1 No such user"
    booking_id = await stand.confirmed_booking(6103, phone="+15005550001", email="gone@example.com")

    async with stand.worker():
        await relay_new(stand.ctx, booking_id)
        rows = await stand.wait_for_rows(
            booking_id, lambda rows: rows[SMS].status == "failed" and rows[EMAIL].status == "failed"
        )

    # Then the stored errors keep the provider's code but not the number or the address
    sms, email = rows[SMS], rows[EMAIL]
    assert sms.last_error is not None and sms.last_error.startswith("21211")
    assert "+15005550001" not in sms.last_error and "+15*******01" in sms.last_error
    assert email.last_error is not None and email.last_error.startswith("smtp-550")
    assert "gone@example.com" not in email.last_error and "g***@***.com" in email.last_error
    # And so do the log lines about them
    logged = log_output.getvalue()
    assert "21211" in logged and "smtp-550" in logged
    assert "+15005550001" not in logged and "gone@example.com" not in logged
    # While the destinations themselves stay usable in SQL
    async with stand.ctx.sessions() as session:
        destinations = set(
            await session.scalars(
                select(Notification.destination).where(Notification.booking_id == booking_id)
            )
        )
    assert {"+15005550001", "gone@example.com"} <= destinations

"""A provider refuses or fails: permanent errors are recorded at once, transient ones retried, bounded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from booking_core.models import utc_now
from tests.delivery_flow.stand import Stand
from workers.delivery import MAX_ATTEMPTS
from workers.outbox_relay import relay_due, relay_new

# The twilio client still uses aiohttp's deprecated BasicAuth.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(BasicAuth|'auth' parameter) is deprecated:DeprecationWarning"
)

SMS = ("sms", "ticket")
TELEGRAM = ("telegram", "ticket")
EMAIL = ("email", "ticket")


async def test_an_invalid_number_is_recorded_as_failed_and_never_retried(stand: Stand) -> None:
    # Given a customer whose phone number Twilio refuses (its test number for "invalid 'To'")
    booking_id = await stand.confirmed_booking(5201, phone="+15005550001", email="bo@example.com")

    async with stand.worker():
        # When the sale is relayed
        await relay_new(stand.ctx, booking_id)
        rows = await stand.wait_for_rows(
            booking_id, lambda rows: all(rows[key].status != "pending" for key in (SMS, TELEGRAM, EMAIL))
        )
        # and, later, the periodic pass runs well past every lease
        assert await relay_due(stand.ctx, utc_now() + timedelta(minutes=30)) == 0

    # Then the SMS row failed after one try, with Twilio's code, and Twilio was asked exactly once
    sms = rows[SMS]
    assert (sms.status, sms.attempts) == ("failed", 1)
    assert sms.last_error is not None and sms.last_error.startswith("21211")
    assert stand.sandboxes.sms_creates == [400]
    # And the other channels were not held up
    assert (rows[TELEGRAM].status, rows[EMAIL].status) == ("sent", "sent")


async def test_transient_twilio_errors_are_retried_with_backoff_until_the_sms_goes(stand: Stand) -> None:
    # Given Twilio failing on its side, then rate-limiting, then working again
    stand.sandboxes.twilio.fail_next = [503, 429]
    booking_id = await stand.confirmed_booking(5202, phone="+4915112345678")

    async with stand.worker():
        await relay_new(stand.ctx, booking_id)
        rows = await stand.wait_for_rows(booking_id, lambda rows: rows[SMS].status == "delivered")

    # Then three tries reached Twilio, one message exists, and the row counted every try
    assert stand.sandboxes.sms_creates == [503, 429, 201]
    assert len(stand.sandboxes.twilio.messages) == 1
    assert rows[SMS].attempts == 3
    assert rows[SMS].provider_message_id == stand.sandboxes.twilio.messages[0].sid


async def test_a_provider_that_keeps_failing_is_given_up_after_max_attempts(stand: Stand) -> None:
    # Given Twilio failing on every call
    stand.sandboxes.twilio.fail_next = [500] * (MAX_ATTEMPTS + 5)
    booking_id = await stand.confirmed_booking(5203, phone="+4915112345678")

    async with stand.worker():
        await relay_new(stand.ctx, booking_id)
        rows = await stand.wait_for_rows(booking_id, lambda rows: rows[SMS].status == "failed")
        assert await relay_due(stand.ctx, utc_now() + timedelta(minutes=30)) == 0

    # Then it was tried MAX_ATTEMPTS times, no more, and the row says why it gave up
    assert stand.sandboxes.sms_creates == [500] * MAX_ATTEMPTS
    sms = rows[SMS]
    assert sms.attempts == MAX_ATTEMPTS
    assert sms.last_error is not None and sms.last_error.startswith(f"gave up after {MAX_ATTEMPTS} attempts")


async def test_a_user_who_blocked_the_bot_is_recorded_without_retrying(stand: Stand) -> None:
    # Given a customer who has blocked the bot
    booking_id = await stand.confirmed_booking(5204)
    stand.sandboxes.telegram.block(5204)

    async with stand.worker():
        await relay_new(stand.ctx, booking_id)
        rows = await stand.wait_for_rows(booking_id, lambda rows: rows[TELEGRAM].status != "pending")

    # Then one try, refused with 403, recorded as failed
    calls = stand.sandboxes.telegram.calls_to("sendPhoto")
    assert [call.ok for call in calls] == [False]
    telegram = rows[TELEGRAM]
    assert (telegram.status, telegram.attempts) == ("failed", 1)
    assert telegram.last_error is not None and "blocked" in telegram.last_error

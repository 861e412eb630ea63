"""A sale's tickets reach the customer once on every channel they have, checked at the stand-ins.

Telegram through python-telegram-bot against the Bot API stand-in, SMS through the official twilio
client against the Twilio stand-in (whose signed status callbacks come back to our web app), email as a
real SMTP conversation. Run on the Redis broker, and on RabbitMQ when TEST_RABBITMQ_URL is set.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest
from icalendar import Calendar
from prometheus_client import REGISTRY

from booking_core.bookings.service import ticket_view
from booking_core.models import Notification
from booking_core.tickets.codes import parse_ticket_code
from booking_core.tickets.content import SMS_MAX_SEGMENTS
from booking_core.tickets.outbox import Channel, NotificationKind
from roles.redis_server import RedisEndpoint
from tests.delivery_flow.conftest import both_brokers
from tests.delivery_flow.stand import Stand, poll
from workers.delivery import ACTOR_FOR, enqueue_delivery
from workers.outbox_relay import relay_new
from workers.telegram_tickets import MY_TICKETS_CALLBACK

# The twilio client still uses aiohttp's deprecated BasicAuth.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(BasicAuth|'auth' parameter) is deprecated:DeprecationWarning"
)

USER = 5101
PHONE = "+4915112345678"
EMAIL = "ann@example.com"
TICKETS = [(channel, NotificationKind.TICKET) for channel in (Channel.TELEGRAM, Channel.SMS, Channel.EMAIL)]

Rows = dict[tuple[str, str], Notification]


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest, redis_endpoint: RedisEndpoint) -> str:
    """Both broker kinds."""
    return both_brokers(request, redis_endpoint)


def all_delivered(rows: Rows) -> bool:
    """Telegram and email handed over; the SMS reported delivered by Twilio's callbacks."""
    return (
        rows[("telegram", "ticket")].status == "sent"
        and rows[("email", "ticket")].status == "sent"
        and rows[("sms", "ticket")].status == "delivered"
    )


def skipped(channel: str) -> float:
    """How many deliveries of `channel` found their row no longer pending (this process's count)."""
    value = REGISTRY.get_sample_value(
        "marquee_notifications_total", {"channel": channel, "outcome": "skipped"}
    )
    return value or 0.0


async def test_a_confirmed_booking_sends_one_telegram_message_one_sms_and_one_email(stand: Stand) -> None:
    sandboxes = stand.sandboxes
    # Given a customer with a phone and an email who has just paid for two seats
    booking_id = await stand.confirmed_booking(USER, phone=PHONE, email=EMAIL)
    view = await ticket_view(stand.ctx.sessions, booking_id)
    assert view is not None

    async with stand.worker():
        # When the confirmation's caller relays the sale's rows
        assert await relay_new(stand.ctx, booking_id) == 3
        rows = await stand.wait_for_rows(booking_id, all_delivered)
        await poll(lambda: sandboxes.twilio.messages[0].callbacks, lambda sent: len(sent) == 2)

        # Then Telegram shows one message: the QR photo, the ticket as caption, a "My tickets" button
        [message] = [m for m in sandboxes.telegram.chat(USER) if m.from_bot]
        assert message.kind == "photo" and message.caption is not None
        assert view.code in message.caption and view.movie_title in message.caption
        assert message.callback_data() == [MY_TICKETS_CALLBACK]
        assert rows[("telegram", "ticket")].provider_message_id == str(message.message_id)

        # And Twilio got one SMS of at most two segments, whose signed callbacks our webhook accepted
        [sms] = sandboxes.twilio.messages
        sms_row = rows[("sms", "ticket")]
        assert sms.to == PHONE and sms.segments <= SMS_MAX_SEGMENTS
        assert view.code in sms.body and view.movie_title in sms.body and view.cinema_name in sms.body
        # named by the row's unguessable reference, never its sequential id
        assert sms_row.callback_ref is not None and len(sms_row.callback_ref) >= 22
        assert sms.status_callback == f"{stand.web_url}/webhooks/twilio/status?ref={sms_row.callback_ref}"
        assert [(c.status, c.answered) for c in sms.callbacks] == [("sent", 204), ("delivered", 204)]
        assert sms_row.provider_message_id == sms.sid and sms_row.attempts == 1
        assert sandboxes.sms_creates == [201]

        # And one email arrived over SMTP, its calendar entry holding the show's start in UTC
        [mail] = sandboxes.mailbox.messages
        assert mail.rcpt_tos == (EMAIL,)
        assert rows[("email", "ticket")].provider_message_id == mail.message["Message-ID"]
        [ics] = [part for part in mail.message.iter_attachments() if part.get_filename() == "ticket.ics"]
        raw = ics.get_payload(decode=True)
        assert isinstance(raw, bytes)
        [event] = Calendar.from_ical(raw).walk("VEVENT")
        start = event.decoded("DTSTART")
        assert start.utcoffset() == timedelta(0)
        assert start == view.starts_at.astimezone(UTC).replace(microsecond=0)
        assert f"DTSTART:{start:%Y%m%dT%H%M%S}Z".encode() in raw

        # And the code as the customer reads it is accepted, while one mistyped symbol is caught
        [typed] = re.findall(r"Ticket (\S+)", sms.body)
        assert parse_ticket_code(typed.lower()) == view.code
        wrong = typed[:-1] + ("X" if typed[-1] != "X" else "Y")
        assert parse_ticket_code(wrong) is None

        # And the reminder waits for its time
        assert rows[("telegram", "reminder")].status == "pending"

        # When every delivery is redelivered (a broker's at-least-once, or a second relay)
        before = {channel: skipped(channel) for channel, _ in TICKETS}
        for key in TICKETS:
            await enqueue_delivery(stand.ctx, ACTOR_FOR[key], rows[key].id, "another-token")
        await poll(
            lambda: {channel: skipped(channel) for channel, _ in TICKETS},
            lambda now: all(now[channel] == before[channel] + 1 for channel, _ in TICKETS),
        )

    # Then nothing was sent twice
    assert len([m for m in sandboxes.telegram.chat(USER) if m.from_bot]) == 1
    assert len(sandboxes.twilio.messages) == 1 and sandboxes.sms_creates == [201]
    assert len(sandboxes.mailbox.messages) == 1

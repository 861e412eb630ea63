"""The web role as a real deployment builds it: Twilio callbacks only where Twilio is configured and
only for SMS rows, and the pages Stripe sends customers back to (issue 12, points 3 and 8).

The app is `roles.web_role.web_application` over `open_core`, from settings read as the roles read
them, served on a real port; the bot is the real python-telegram-bot Application on the sandbox Bot API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from twilio.request_validator import RequestValidator

from booking_core.database import SessionFactory
from booking_core.events import CollectingSink
from booking_core.models import Notification, utc_now
from booking_core.tickets.outbox import mark_sent
from bot.notifications import TelegramNotifier
from bot.running import running_bot
from roles.bot_role import bot_application
from roles.endpoints import resolve_endpoints
from roles.redis_server import RedisEndpoint
from roles.resources import open_core
from roles.settings import MarqueeSettings, load_settings
from roles.web_role import serving, web_application
from sandbox.telegram.app import start_telegram_sandbox
from sandbox.twilio_api import SANDBOX_AUTH_TOKEN
from tests.factories import make_ticketed_booking
from tests.support.web import free_local_socket

pytestmark = pytest.mark.timeout(60)

BOT_TOKEN = "7100000001:production-web-test"
TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "12" * 16,
    "TWILIO_AUTH_TOKEN": "real-twilio-token",
    "TWILIO_FROM_NUMBER": "+15550001",
}
SID = "SM" + "cd" * 16


class _NoJobs:
    def send_payment_events(self, payment_event_ids: list[int]) -> None:
        raise AssertionError("no payment webhooks in these tests")


def production_settings(
    database_url: str, redis_url: str, public_url: str, **overrides: Any
) -> MarqueeSettings:
    """A real deployment's settings: a bot token, Stripe, a public address, no stand-in."""
    values: dict[str, Any] = {
        "MODE": "production",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PUBLIC_BASE_URL": public_url,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "PAYMENT_PROVIDER": "stripe",
        "STRIPE_API_KEY": "sk_test_production_web",
        "STRIPE_WEBHOOK_SECRET": "whsec_production_web",
        "SMTP_URL": "smtp://127.0.0.1:9",
        "TWILIO_ACCOUNT_SID": None,
        "TWILIO_AUTH_TOKEN": None,
        "TWILIO_FROM_NUMBER": None,
    }
    values.update(overrides)
    return load_settings(**values)


@dataclass(frozen=True)
class Deployment:
    """Where the roles of a test deployment keep their state."""

    database_url: str
    redis_url: str

    @asynccontextmanager
    async def web(self, **overrides: Any) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
        """Run the web role's app on a free port; yields its base URL and an HTTP client."""
        sock = free_local_socket()
        port = sock.getsockname()[1]
        sock.close()
        base_url = f"http://127.0.0.1:{port}"
        settings = production_settings(
            self.database_url, self.redis_url, base_url, HTTP_PORT=port, **overrides
        )
        endpoints = resolve_endpoints(settings, self.redis_url, None)
        async with open_core(settings, self.redis_url, CollectingSink()) as core:
            app = web_application(core, endpoints, _NoJobs(), None)
            async with serving(app, "127.0.0.1", port), aiohttp.ClientSession() as http:
                yield base_url, http

    async def run_bot_once(self, telegram_url: str) -> None:
        """Start and stop the bot role's Application (polling) against a Bot API at `telegram_url`."""
        settings = production_settings(
            self.database_url, self.redis_url, "https://tickets.example", TELEGRAM_API_BASE_URL=telegram_url
        )
        endpoints = resolve_endpoints(settings, self.redis_url, None)
        notifier = TelegramNotifier()
        async with open_core(settings, self.redis_url, notifier) as core:
            application = bot_application(core, endpoints, notifier)
            async with running_bot(application):
                pass


@pytest.fixture
def deployment(
    engine: AsyncEngine, database_url: str, redis_endpoint: RedisEndpoint, redis: object
) -> Deployment:
    """A database and an empty Redis for the roles of one test."""
    return Deployment(database_url, redis_endpoint.url)


async def ticket_rows(sessions: SessionFactory) -> dict[str, Notification]:
    """A confirmed booking's Telegram and SMS ticket rows, the Telegram one sent (message id 4242)."""
    booking_id = await make_ticketed_booking(sessions, phone="+4915112345678")
    rows = await _rows(sessions, booking_id)
    await mark_sent(sessions, rows["telegram"].id, utc_now(), "4242")
    return await _rows(sessions, booking_id)


async def _rows(sessions: SessionFactory, booking_id: int) -> dict[str, Notification]:
    async with sessions() as session:
        found = await session.scalars(select(Notification).where(Notification.booking_id == booking_id))
        return {row.channel: row for row in found}


async def post_callback(
    base_url: str, http: aiohttp.ClientSession, query: str, params: dict[str, str], token: str
) -> int:
    """POST a Twilio status callback signed with `token` for the URL Twilio would call."""
    url = f"{base_url}/webhooks/twilio/status?{query}"
    signature = RequestValidator(token).compute_signature(url, params)
    async with http.post(url, data=params, headers={"X-Twilio-Signature": signature}) as response:
        return response.status


def failed_report(sid: str) -> dict[str, str]:
    return {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "30003", "To": "+4915112345678"}


async def test_without_twilio_a_callback_signed_with_the_sandbox_token_is_refused(
    deployment: Deployment, sessions: SessionFactory
) -> None:
    # Given a real deployment without Twilio settings, and a customer's sent Telegram ticket
    rows = await ticket_rows(sessions)
    telegram = rows["telegram"]
    async with deployment.web() as (base_url, http):
        # When a callback signed with the sandbox's published token names that row
        query = f"notification={telegram.id}"
        status = await post_callback(base_url, http, query, failed_report("4242"), SANDBOX_AUTH_TOKEN)
    # Then it is refused and the row stays as it was
    assert status == 404
    after = await _rows(sessions, telegram.booking_id)
    assert (after["telegram"].status, after["telegram"].last_error) == ("sent", None)


async def test_with_twilio_a_signed_callback_changes_sms_rows_only(
    deployment: Deployment, sessions: SessionFactory
) -> None:
    # Given a deployment with Twilio, a customer's sent Telegram ticket and their pending SMS row
    rows = await ticket_rows(sessions)
    telegram, sms = rows["telegram"], rows["sms"]
    token = TWILIO["TWILIO_AUTH_TOKEN"]
    async with deployment.web(**TWILIO) as (base_url, http):
        # When genuinely signed callbacks name the Telegram row by its id or its message id
        by_id = await post_callback(base_url, http, f"notification={telegram.id}", failed_report(SID), token)
        by_sid = await post_callback(base_url, http, "notification=0", failed_report("4242"), token)
        # Then they change nothing
        assert (by_id, by_sid) == (204, 204)
        after = await _rows(sessions, telegram.booking_id)
        assert (after["telegram"].status, after["telegram"].provider_message_id) == ("sent", "4242")
        assert after["sms"].status == "pending"
        # While the SMS row's own callback, which names it by its reference, is applied
        assert sms.callback_ref is not None and str(sms.id) not in sms.callback_ref.split("-")
        own = await post_callback(base_url, http, f"ref={sms.callback_ref}", failed_report(SID), token)
    assert own == 204
    after = await _rows(sessions, telegram.booking_id)
    assert (after["sms"].status, after["sms"].provider_message_id) == ("failed", SID)
    assert after["telegram"].status == "sent"


async def test_the_checkout_return_pages_send_the_customer_back_to_the_chat(
    deployment: Deployment, sessions: SessionFactory, redis: object
) -> None:
    # Given the web role of a deployment whose bot has not started yet
    async with deployment.web() as (base_url, http):
        for path in ("/checkout/success?session_id=cs_test_1", "/checkout/cancel?session_id=cs_test_1"):
            async with http.get(base_url + path) as response:
                # Then Stripe's return pages answer, sending the customer back to Telegram
                assert response.status == 200, path
                page = await response.text()
                assert "return to Telegram" in page and "t.me" not in page
        # When the bot starts (getMe tells it its username)
        runner, telegram_url, _state = await start_telegram_sandbox()
        try:
            await deployment.run_bot_once(telegram_url)
        finally:
            await runner.cleanup()
        # Then the pages link to its chat
        async with http.get(base_url + "/checkout/success?session_id=cs_test_2") as response:
            page = await response.text()
        assert response.status == 200 and "Payment received" in page
        assert 'href="https://t.me/' in page

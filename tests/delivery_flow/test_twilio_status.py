"""POST /webhooks/twilio/status: only callbacks signed for our public URL change a row, and only forward.

The app sits "behind a proxy": it is reached at 127.0.0.1 but Twilio calls PUBLIC_BASE_URL, so a
signature is valid only for the public URL. Callbacks are signed with the official twilio library.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from adapters.sms_twilio import status_callback_url
from booking_core.database import SessionFactory
from booking_core.models import Notification, utc_now
from booking_core.tickets.outbox import mark_sent
from roles.settings import load_settings
from tests.factories import make_ticketed_booking
from webhooks.app import create_web_app
from webhooks.keys import TWILIO_AUTH_TOKEN
from webhooks.twilio_status import setup_twilio_routes

PUBLIC = "https://tickets.marquee.example"
TOKEN = "the-twilio-auth-token"
SID = "SM" + "ab" * 16


class _NoJobs:
    def send_payment_events(self, payment_event_ids: list[int]) -> None:
        raise AssertionError("not used")


@pytest.fixture
async def client(sessions: SessionFactory, redis: aioredis.Redis) -> AsyncIterator[TestClient]:
    """Our web app with the Twilio route group, its auth token set the way the role sets it."""
    app = create_web_app(
        settings=load_settings(PUBLIC_BASE_URL=PUBLIC, TWILIO_AUTH_TOKEN=None),
        sessions=sessions,
        redis=redis,
        payment_providers={},
        jobs=_NoJobs(),
        route_groups=[setup_twilio_routes],
    )
    app[TWILIO_AUTH_TOKEN] = TOKEN
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


async def sms_row(sessions: SessionFactory) -> tuple[int, str]:
    """The SMS outbox row of a confirmed booking: its id and its status callback reference."""
    booking_id = await make_ticketed_booking(sessions, phone="+4915112345678")
    async with sessions() as session:
        query = select(Notification.id, Notification.callback_ref).where(
            Notification.booking_id == booking_id, Notification.channel == "sms"
        )
        notification_id, ref = (await session.execute(query)).one()
        assert ref is not None
        return notification_id, ref


async def row(sessions: SessionFactory, notification_id: int) -> Notification:
    async with sessions() as session:
        found = await session.get(Notification, notification_id)
        assert found is not None
        return found


def callback(ref: str, status: str, **extra: str) -> tuple[str, dict[str, str]]:
    """A status callback's path (as our app sees it) and its POST parameters."""
    params = {"MessageSid": SID, "SmsSid": SID, "MessageStatus": status, "To": "+4915112345678", **extra}
    return status_callback_url("", ref), params


def signed(url: str, params: dict[str, str], token: str = TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}


async def test_a_forged_status_callback_is_refused_and_changes_nothing(
    client: TestClient, sessions: SessionFactory
) -> None:
    # Given an SMS handed to Twilio
    notification_id, ref = await sms_row(sessions)
    await mark_sent(sessions, notification_id, utc_now(), SID)
    path, params = callback(ref, "failed", ErrorCode="30003")
    internal_url = str(client.make_url(path))

    forgeries = {
        "no signature": {},
        "another account's token": signed(PUBLIC + path, params, token="not-our-token"),
        "signed for other parameters": signed(PUBLIC + path, {**params, "MessageStatus": "delivered"}),
        "signed for the internal URL": signed(internal_url, params),
        "signed for another row": signed(PUBLIC + status_callback_url("", ref + "x"), params),
    }
    for name, headers in forgeries.items():
        # When a callback arrives without a valid signature
        answer = await client.post(path, data=params, headers=headers)
        # Then it is refused
        assert answer.status == 403, name

    # And the row is as it was
    unchanged = await row(sessions, notification_id)
    assert (unchanged.status, unchanged.last_error) == ("sent", None)
    # While the same callback signed for the public URL is taken
    assert (await client.post(path, data=params, headers=signed(PUBLIC + path, params))).status == 204
    assert (await row(sessions, notification_id)).status == "failed"


async def test_signed_callbacks_move_the_row_forward_only(
    client: TestClient, sessions: SessionFactory
) -> None:
    notification_id, ref = await sms_row(sessions)
    await mark_sent(sessions, notification_id, utc_now(), SID)

    async def post(status: str, **extra: str) -> int:
        path, params = callback(ref, status, **extra)
        return (await client.post(path, data=params, headers=signed(PUBLIC + path, params))).status

    # When Twilio reports delivery, then repeats a stale "sent" and a contradictory "undelivered"
    assert await post("delivered") == 204
    assert await post("sent") == 204
    assert await post("undelivered", ErrorCode="30003") == 204

    # Then the row is delivered, for good
    delivered = await row(sessions, notification_id)
    assert (delivered.status, delivered.last_error) == ("delivered", None)


async def test_an_undelivered_report_fails_the_row_with_twilios_error(
    client: TestClient, sessions: SessionFactory
) -> None:
    notification_id, ref = await sms_row(sessions)
    await mark_sent(sessions, notification_id, utc_now(), SID)
    path, params = callback(ref, "undelivered", ErrorCode="30003")

    answer = await client.post(path, data=params, headers=signed(PUBLIC + path, params))

    assert answer.status == 204
    failed = await row(sessions, notification_id)
    assert (failed.status, failed.last_error) == ("failed", "twilio undelivered: error 30003")


async def test_a_callback_that_beats_the_worker_records_the_sending_itself(
    client: TestClient, sessions: SessionFactory
) -> None:
    # Given an SMS Twilio accepted, whose worker has not yet stored the message sid
    notification_id, ref = await sms_row(sessions)
    path, params = callback(ref, "delivered")

    # When Twilio's "delivered" arrives first
    answer = await client.post(path, data=params, headers=signed(PUBLIC + path, params))

    # Then the row is delivered with the sid, and the worker's own report afterwards changes nothing
    assert answer.status == 204
    delivered = await row(sessions, notification_id)
    assert (delivered.status, delivered.provider_message_id, delivered.attempts) == ("delivered", SID, 1)
    assert not await mark_sent(sessions, notification_id, utc_now(), SID)

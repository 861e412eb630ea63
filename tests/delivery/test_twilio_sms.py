"""The official twilio client, through TwilioSmsSender, against the Twilio sandbox over real HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from adapters.sms_twilio import TwilioSmsSender, verify_twilio_signature
from booking_core.tickets.senders import PermanentDeliveryError, TransientDeliveryError
from sandbox.twilio_api import SANDBOX_FROM_NUMBER, TwilioSandboxState, start_twilio_sandbox

# twilio 9 still passes aiohttp's deprecated `auth=` argument; nothing of ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(BasicAuth|'auth' parameter) is deprecated:DeprecationWarning"
)

ACCOUNT_SID = "AC" + "1234abcd" * 4
AUTH_TOKEN = "test-auth-token-for-the-sandbox"


@dataclass
class Sandbox:
    base_url: str
    state: TwilioSandboxState


@dataclass
class CallbackReceiver:
    """Our side of status callbacks: records exactly what arrived (params, X-Twilio-Signature)."""

    url: str = ""
    received: list[tuple[dict[str, str], str]] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def record(self, request: web.Request) -> web.Response:
        form = await request.post()
        async with self.arrived:
            params = {name: str(value) for name, value in form.items()}
            self.received.append((params, request.headers.get("X-Twilio-Signature", "")))
            self.arrived.notify_all()
        return web.Response(status=204)

    async def wait_for(self, count: int) -> list[tuple[dict[str, str], str]]:
        async with asyncio.timeout(5), self.arrived:
            await self.arrived.wait_for(lambda: len(self.received) >= count)
        return self.received


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    runner, base_url, state = await start_twilio_sandbox(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
    state.callback_delay = 0.01
    yield Sandbox(base_url, state)
    await runner.cleanup()


@pytest.fixture
async def sender(sandbox: Sandbox) -> AsyncIterator[TwilioSmsSender]:
    sms = TwilioSmsSender(ACCOUNT_SID, AUTH_TOKEN, SANDBOX_FROM_NUMBER, sandbox.base_url, timeout=2.0)
    yield sms
    await sms.close()


@pytest.fixture
async def receiver() -> AsyncIterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    app = web.Application()
    app.router.add_post("/webhooks/twilio/status", receiver.record)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhooks/twilio/status"
    yield receiver
    await runner.cleanup()


async def test_a_message_is_accepted_and_kept(sandbox: Sandbox, sender: TwilioSmsSender) -> None:
    sent = await sender.send("+4915112345678", "Ticket 7KQ2-M9XF-4TB", None)

    assert sent.message_id.startswith("SM") and len(sent.message_id) == 34
    assert sent.status == "queued"
    [kept] = sandbox.state.messages
    assert (kept.sid, kept.to, kept.from_, kept.body) == (
        sent.message_id,
        "+4915112345678",
        SANDBOX_FROM_NUMBER,
        "Ticket 7KQ2-M9XF-4TB",
    )
    async with aiohttp.ClientSession() as http, http.get(f"{sandbox.base_url}/sandbox/sms") as response:
        listed = await response.json()
    assert [m["sid"] for m in listed] == [sent.message_id]
    async with aiohttp.ClientSession() as http, http.get(f"{sandbox.base_url}/sandbox/sms.html") as response:
        assert "Ticket 7KQ2-M9XF-4TB" in await response.text()


@pytest.mark.parametrize(
    ("to", "code"),
    [("12345", "21211"), ("+0049151", "21211"), ("+15005550001", "21211"), ("+15005550009", "21614")],
)
async def test_numbers_twilio_refuses_are_permanent_failures(
    sandbox: Sandbox, sender: TwilioSmsSender, to: str, code: str
) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        await sender.send(to, "hello", None)

    assert caught.value.code == code
    assert sandbox.state.messages == []


async def test_a_landline_prefix_is_not_mobile(sandbox: Sandbox, sender: TwilioSmsSender) -> None:
    sandbox.state.not_mobile_prefix = "+4930"

    with pytest.raises(PermanentDeliveryError) as caught:
        await sender.send("+493012345678", "hello", None)

    assert caught.value.code == "21614"


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rate_limits_and_server_errors_are_transient(
    sandbox: Sandbox, sender: TwilioSmsSender, status: int
) -> None:
    sandbox.state.fail_next = [status]

    with pytest.raises(TransientDeliveryError):
        await sender.send("+4915112345678", "hello", None)
    # and the retry goes through
    assert (await sender.send("+4915112345678", "hello", None)).status == "queued"


async def test_wrong_credentials_are_permanent(sandbox: Sandbox) -> None:
    sms = TwilioSmsSender(ACCOUNT_SID, "not-the-token", SANDBOX_FROM_NUMBER, sandbox.base_url)
    try:
        with pytest.raises(PermanentDeliveryError) as caught:
            await sms.send("+4915112345678", "hello", None)
    finally:
        await sms.close()
    assert caught.value.code == "20003"


async def test_a_slow_twilio_is_a_transient_timeout(sandbox: Sandbox) -> None:
    sandbox.state.response_delay = 1.0
    sms = TwilioSmsSender(ACCOUNT_SID, AUTH_TOKEN, SANDBOX_FROM_NUMBER, sandbox.base_url, timeout=0.2)
    try:
        with pytest.raises(TransientDeliveryError) as caught:
            await sms.send("+4915112345678", "hello", None)
    finally:
        await sms.close()
    assert caught.value.code == "timeout"


async def test_an_unreachable_twilio_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    sms = TwilioSmsSender(ACCOUNT_SID, AUTH_TOKEN, SANDBOX_FROM_NUMBER, f"http://127.0.0.1:{closed_port}")
    try:
        with pytest.raises(TransientDeliveryError) as caught:
            await sms.send("+4915112345678", "hello", None)
    finally:
        await sms.close()
    assert caught.value.code == "connection"


async def test_status_callbacks_arrive_signed_and_the_signature_checks_out(
    sandbox: Sandbox, sender: TwilioSmsSender, receiver: CallbackReceiver
) -> None:
    sent = await sender.send("+4915112345678", "hello", receiver.url)

    callbacks = await receiver.wait_for(2)

    assert [params["MessageStatus"] for params, _ in callbacks] == ["sent", "delivered"]
    for params, signature in callbacks:
        assert params["MessageSid"] == sent.message_id
        assert verify_twilio_signature(AUTH_TOKEN, receiver.url, params, signature)
    assert sandbox.state.messages[0].status == "delivered"
    # The sandbox posts them in turn, so the first answer was in before the second callback left.
    assert sandbox.state.messages[0].callbacks[0].answered == 204


async def test_a_forged_or_misaddressed_callback_is_rejected(
    sender: TwilioSmsSender, receiver: CallbackReceiver
) -> None:
    await sender.send("+4915112345678", "hello", receiver.url)
    [(params, signature), *_] = await receiver.wait_for(1)
    assert verify_twilio_signature(AUTH_TOKEN, receiver.url, params, signature)

    assert not verify_twilio_signature(
        AUTH_TOKEN, receiver.url, {**params, "MessageStatus": "failed"}, signature
    )
    assert not verify_twilio_signature("another-token", receiver.url, params, signature)
    assert not verify_twilio_signature(AUTH_TOKEN, receiver.url + "?again=1", params, signature)
    assert not verify_twilio_signature(AUTH_TOKEN, receiver.url, params, "")
    assert not verify_twilio_signature(AUTH_TOKEN, receiver.url, params, "bm90IGEgc2lnbmF0dXJl")


async def test_an_undeliverable_number_ends_undelivered(
    sandbox: Sandbox, sender: TwilioSmsSender, receiver: CallbackReceiver
) -> None:
    sandbox.state.undelivered_prefix = "+4917"

    await sender.send("+4917000000000", "hello", receiver.url)
    callbacks = await receiver.wait_for(2)

    assert [params["MessageStatus"] for params, _ in callbacks] == ["sent", "undelivered"]
    assert callbacks[1][0]["ErrorCode"] == "30003"

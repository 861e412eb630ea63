"""A local stand-in for Twilio's Messages API, enough for the official twilio client.

POST /2010-04-01/Accounts/{sid}/Messages.json accepts a message the way Twilio does (basic auth,
form fields To, From, Body, StatusCallback; 201 with a queued message resource), refuses the numbers
Twilio refuses (21211 not a valid number, 21614 not a mobile number; Twilio's test numbers
+15005550001 and +15005550009 do the same), keeps every message and then posts signed status
callbacks ("sent", then "delivered", or "undelivered" for `undelivered_prefix`). Knobs on the state
let tests make it slow or fail. GET /sandbox/sms (JSON) and /sandbox/sms.html show what was sent.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import aiohttp
from aiohttp import web

SANDBOX_ACCOUNT_SID = "AC" + "5a" * 16
SANDBOX_AUTH_TOKEN = "sandbox-auth-token-0123456789abcdef"
SANDBOX_FROM_NUMBER = "+15005550006"
API_VERSION = "2010-04-01"
CALLBACK_TIMEOUT_SECONDS = 15.0  # how long Twilio waits for a status callback answer


# How Twilio bills a body, counted here on purpose without the core's code (so a bug there shows): the
# GSM 03.38 default alphabet in code order (0x1B, the escape, left out), and the characters
# reached through the escape. A segment carries 140 bytes, 134 once split (6 go to the UDH).
_GSM_DEFAULT = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_ESCAPED = "\f^{}\\[~]|€"
_SINGLE_BITS, _PART_BITS = 140 * 8, 134 * 8


def message_segments(body: str) -> int:
    """How many segments Twilio reports for `body` (GSM-7 septets, else UTF-16 code units)."""
    if all(char in _GSM_DEFAULT or char in _GSM_ESCAPED for char in body):
        bits, units = 7, [2 if char in _GSM_ESCAPED else 1 for char in body]
    else:
        bits, units = 16, [len(char.encode("utf-16-le")) // 2 for char in body]
    if sum(units) * bits <= _SINGLE_BITS:
        return 1
    parts, free = 1, _PART_BITS // bits
    for unit in units:  # a character (an escape pair, a surrogate pair) never straddles two parts
        if unit > free:
            parts, free = parts + 1, _PART_BITS // bits
        free -= unit
    return parts


_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_INVALID_TEST_NUMBER = "+15005550001"
_NOT_MOBILE_TEST_NUMBER = "+15005550009"


@dataclass
class CallbackAttempt:
    """One status callback the sandbox posted, and what the receiver answered."""

    status: str
    url: str
    answered: int | None  # HTTP status, or None when the receiver could not be reached
    error: str | None = None


@dataclass
class SandboxSms:
    """A message as the sandbox keeps it."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    status: str
    segments: int
    created_at: datetime
    callbacks: list[CallbackAttempt] = field(default_factory=list)

    def resource(self) -> dict[str, Any]:
        """The message resource as Twilio's API returns it."""
        created = format_datetime(self.created_at)
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": created,
            "date_sent": None,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": 30003 if self.status == "undelivered" else None,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": str(self.segments),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": self.to,
            "uri": uri,
        }


@dataclass
class TwilioSandboxState:
    """Configuration, knobs and everything the sandbox received."""

    account_sid: str = SANDBOX_ACCOUNT_SID
    auth_token: str = SANDBOX_AUTH_TOKEN
    not_mobile_prefix: str | None = None  # numbers starting with it get 21614
    undelivered_prefix: str | None = None  # numbers starting with it end "undelivered"
    callback_delay: float = 0.05  # seconds between status changes
    response_delay: float = 0.0  # seconds before answering a create call
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses for the next create calls
    messages: list[SandboxSms] = field(default_factory=list)

    def find(self, sid: str) -> SandboxSms | None:
        """The message with this sid, if any."""
        return next((message for message in self.messages if message.sid == sid), None)


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 (auth token) of the URL followed by each name+value, sorted."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


STATE = web.AppKey("twilio_sandbox_state", TwilioSandboxState)
_HTTP = web.AppKey("twilio_sandbox_http", aiohttp.ClientSession)
_TASKS = web.AppKey("twilio_sandbox_tasks", set[asyncio.Task[None]])


def setup_twilio_sandbox(app: web.Application, state: TwilioSandboxState) -> None:
    """Add the Twilio API routes and the sandbox SMS pages to `app`."""
    app[STATE] = state
    app[_TASKS] = set()
    app.cleanup_ctx.append(_callback_client)
    app.router.add_post("/2010-04-01/Accounts/{account_sid}/Messages.json", _create_message)
    app.router.add_get("/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json", _fetch_message)
    app.router.add_get("/sandbox/sms", _list_messages)
    app.router.add_get("/sandbox/sms.html", _messages_page)


def create_twilio_sandbox_app(state: TwilioSandboxState) -> web.Application:
    """An aiohttp application serving only the Twilio sandbox."""
    app = web.Application()
    setup_twilio_sandbox(app, state)
    return app


async def start_twilio_sandbox(
    port: int = 0,
    account_sid: str = SANDBOX_ACCOUNT_SID,
    auth_token: str = SANDBOX_AUTH_TOKEN,
    host: str = "127.0.0.1",
) -> tuple[web.AppRunner, str, TwilioSandboxState]:
    """Serve the sandbox on host:port (0: any free port); returns (runner, base URL, state)."""
    state = TwilioSandboxState(account_sid=account_sid, auth_token=auth_token)
    runner = web.AppRunner(create_twilio_sandbox_app(state))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = runner.addresses[0][1]
    return runner, f"http://{host}:{bound_port}", state


async def _callback_client(app: web.Application) -> AsyncIterator[None]:
    timeout = aiohttp.ClientTimeout(total=CALLBACK_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        app[_HTTP] = session
        yield
        running = app[_TASKS]
        tasks = list(running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _create_message(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if not _authorized(request, state):
        return _error(401, 20003, "Authenticate")
    if state.response_delay:
        await asyncio.sleep(state.response_delay)
    if state.fail_next:
        status = state.fail_next.pop(0)
        return _error(status, 20429 if status == 429 else 20500, "Sandbox failure requested by the test")
    form = await request.post()
    to, from_, body = (str(form.get(name, "")) for name in ("To", "From", "Body"))
    callback = str(form["StatusCallback"]) if form.get("StatusCallback") else None
    if not to:
        return _error(400, 21604, "A 'To' phone number is required.")
    if not _E164.match(to) or to == _INVALID_TEST_NUMBER:
        return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if to == _NOT_MOBILE_TEST_NUMBER or (state.not_mobile_prefix and to.startswith(state.not_mobile_prefix)):
        return _error(400, 21614, f"'To' number {to} is not a valid mobile number")
    if not from_:
        return _error(400, 21603, "A 'From' phone number is required.")
    if not body:
        return _error(400, 21602, "Message body is required.")
    message = SandboxSms(
        sid="SM" + uuid.uuid4().hex,
        account_sid=state.account_sid,
        to=to,
        from_=from_,
        body=body,
        status_callback=callback,
        status="queued",
        segments=message_segments(body),
        created_at=datetime.now(UTC),
    )
    state.messages.append(message)
    task = asyncio.create_task(_progress(request.app, message))
    request.app[_TASKS].add(task)
    task.add_done_callback(request.app[_TASKS].discard)
    return web.json_response(message.resource(), status=201)


async def _fetch_message(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if not _authorized(request, state):
        return _error(401, 20003, "Authenticate")
    message = state.find(request.match_info["sid"])
    if message is None:
        return _error(404, 20404, f"The requested resource {request.path} was not found")
    return web.json_response(message.resource())


async def _progress(app: web.Application, message: SandboxSms) -> None:
    """Move the message through sent and delivered (or undelivered), calling back after each step."""
    state = app[STATE]
    undelivered = bool(state.undelivered_prefix) and message.to.startswith(state.undelivered_prefix or "")
    for status in ("sent", "undelivered" if undelivered else "delivered"):
        await asyncio.sleep(state.callback_delay)
        message.status = status
        if message.status_callback:
            await _post_callback(app[_HTTP], state.auth_token, message)


async def _post_callback(http: aiohttp.ClientSession, auth_token: str, message: SandboxSms) -> None:
    assert message.status_callback is not None
    params = {
        "AccountSid": message.account_sid,
        "ApiVersion": API_VERSION,
        "From": message.from_,
        "MessageSid": message.sid,
        "MessageStatus": message.status,
        "SmsSid": message.sid,
        "SmsStatus": message.status,
        "To": message.to,
    }
    if message.status == "undelivered":
        params["ErrorCode"] = "30003"
    headers = {"X-Twilio-Signature": twilio_signature(auth_token, message.status_callback, params)}
    attempt = CallbackAttempt(status=message.status, url=message.status_callback, answered=None)
    message.callbacks.append(attempt)
    try:
        async with http.post(message.status_callback, data=params, headers=headers) as response:
            attempt.answered = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        attempt.error = str(exc) or type(exc).__name__


async def _list_messages(request: web.Request) -> web.Response:
    messages = request.app[STATE].messages
    return web.json_response([_as_json(message) for message in messages])


async def _messages_page(request: web.Request) -> web.Response:
    rows = []
    for message in reversed(request.app[STATE].messages):
        callbacks = ", ".join(f"{c.status}→{c.answered or c.error}" for c in message.callbacks) or "–"
        cells = (
            f"{message.created_at:%Y-%m-%d %H:%M:%S}",
            message.to,
            message.from_,
            message.status,
            str(message.segments),
            callbacks,
        )
        rows.append(
            "<tr>"
            + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
            + f"<td><pre>{html.escape(message.body)}</pre></td></tr>"
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Sandbox SMS</title>"
        "<meta http-equiv='refresh' content='5'></head><body><h1>Sandbox SMS</h1>"
        "<table border='1' cellpadding='4'><tr><th>Created (UTC)</th><th>To</th><th>From</th>"
        "<th>Status</th><th>Segments</th><th>Callbacks</th><th>Body</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )
    return web.Response(text=page, content_type="text/html")


def _as_json(message: SandboxSms) -> dict[str, Any]:
    data = asdict(message)
    data["from"] = data.pop("from_")
    data["created_at"] = message.created_at.isoformat()
    return data


def _authorized(request: web.Request, state: TwilioSandboxState) -> bool:
    if request.match_info["account_sid"] != state.account_sid:
        return False
    try:
        auth = aiohttp.BasicAuth.decode(request.headers.get("Authorization", ""))
    except ValueError:
        return False
    return hmac.compare_digest(auth.login, state.account_sid) and hmac.compare_digest(
        auth.password, state.auth_token
    )


def _error(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)

"""A local SMTP server that keeps every message it receives, and pages to read them.

`start_mailbox()` runs an aiosmtpd Controller (its own thread and event loop) on 127.0.0.1. Tests can
make it refuse recipients (`refusals`) or require a login. `setup_mailbox_pages(app, mailbox)` adds
GET /sandbox/mail (JSON), /sandbox/mail.html (the list) and /sandbox/mail/{n}.html (one message's
HTML body, with its inline images served from the sandbox) to an aiohttp application.
"""

from __future__ import annotations

import asyncio
import html
import threading
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the server received it: SMTP envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    received_at: datetime


class Mailbox:
    """A running sandbox SMTP server and the messages it has received."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        # Recipient address (lower case) → the SMTP reply refusing it, e.g. "550 5.1.1 No such user".
        self.refusals: dict[str, str] = {}
        self._credentials = credentials
        self._lock = threading.Lock()
        self._messages: list[ReceivedMail] = []
        self._controller: _AnyPortController | None = None

    @property
    def messages(self) -> list[ReceivedMail]:
        """Everything received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._messages)

    @property
    def url(self) -> str:
        """The SMTP_URL that reaches this server."""
        if self._credentials:
            user, password = self._credentials
            return f"smtp://{user}:{password}@{self.host}:{self.port}"
        return f"smtp://{self.host}:{self.port}"

    def clear(self) -> None:
        """Forget the messages received so far."""
        with self._lock:
            self._messages.clear()

    def start(self, port: int = 0) -> None:
        """Start listening on 127.0.0.1:port (0: any free port); returns once the server answers."""
        smtp_options: dict[str, Any] = {}
        if self._credentials:
            # A login over plain SMTP: the sandbox has no certificate, and it only listens on 127.0.0.1.
            smtp_options = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        self._controller = _AnyPortController(_Handler(self), hostname=self.host, port=port, **smtp_options)
        self._controller.start()
        self.port = self._controller.port

    def stop(self) -> None:
        """Stop the server and its thread."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _keep(self, mail: ReceivedMail) -> None:
        with self._lock:
            self._messages.append(mail)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        expected = self._credentials
        ok = (
            expected is not None
            and isinstance(auth_data, LoginPassword)
            and (auth_data.login.decode(), auth_data.password.decode()) == expected
        )
        # handled=False: aiosmtpd then answers a failed login with 535 itself.
        return AuthResult(success=ok, handled=False)


def start_mailbox(port: int = 0, credentials: tuple[str, str] | None = None) -> Mailbox:
    """Start a sandbox SMTP server on 127.0.0.1 (blocking briefly until it answers)."""
    mailbox = Mailbox(credentials)
    mailbox.start(port)
    return mailbox


class _AnyPortController(Controller):
    """A Controller that may bind port 0 and then knows which port it got."""

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self._bind()

    async def _bind(self) -> asyncio.AbstractServer:
        server = await self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=self.port, ssl=self.ssl_context
        )
        self.port = server.sockets[0].getsockname()[1]
        return server


class _Handler:
    """aiosmtpd hooks: refuse configured recipients, keep each message."""

    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self._mailbox.refusals.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        self._mailbox._keep(
            ReceivedMail(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                message=message,
                received_at=datetime.now(UTC),
            )
        )
        return "250 Message accepted for delivery"


MAILBOX = web.AppKey("sandbox_mailbox", Mailbox)


def setup_mailbox_pages(app: web.Application, mailbox: Mailbox) -> None:
    """Add the sandbox mail pages (JSON list, HTML list, one message's HTML body) to `app`."""
    app[MAILBOX] = mailbox
    app.router.add_get("/sandbox/mail", _list_json)
    app.router.add_get("/sandbox/mail.html", _list_page)
    app.router.add_get("/sandbox/mail/{index:\\d+}.html", _message_page)
    app.router.add_get("/sandbox/mail/{index:\\d+}/cid/{cid}", _inline_part)


def _summary(index: int, mail: ReceivedMail) -> dict[str, Any]:
    message = mail.message
    return {
        "index": index,
        "received_at": mail.received_at.isoformat(),
        "mail_from": mail.mail_from,
        "rcpt_tos": list(mail.rcpt_tos),
        "from": str(message["From"] or ""),
        "to": str(message["To"] or ""),
        "subject": str(message["Subject"] or ""),
        "message_id": str(message["Message-ID"] or ""),
        "text": _body(message, "plain"),
        "has_html": message.get_body(preferencelist=("html",)) is not None,
        "attachments": [part.get_filename() for part in message.iter_attachments()],
        "html_url": f"/sandbox/mail/{index}.html",
    }


async def _list_json(request: web.Request) -> web.Response:
    mails = request.app[MAILBOX].messages
    return web.json_response([_summary(index, mail) for index, mail in enumerate(mails)])


async def _list_page(request: web.Request) -> web.Response:
    rows = []
    for index, mail in reversed(list(enumerate(request.app[MAILBOX].messages))):
        summary = _summary(index, mail)
        cells = (summary["received_at"][:19], ", ".join(mail.rcpt_tos), summary["subject"])
        rows.append(
            "<tr>"
            + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
            + f"<td>{html.escape(', '.join(name or '?' for name in summary['attachments']))}</td>"
            + f"<td><a href='{summary['html_url']}'>view</a></td></tr>"
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Sandbox mail</title>"
        "<meta http-equiv='refresh' content='5'></head><body><h1>Sandbox mail</h1>"
        "<table border='1' cellpadding='4'><tr><th>Received (UTC)</th><th>To</th><th>Subject</th>"
        "<th>Attachments</th><th></th></tr>" + "".join(rows) + "</table></body></html>"
    )
    return web.Response(text=page, content_type="text/html")


async def _message_page(request: web.Request) -> web.Response:
    index, mail = _mail_at(request)
    body = _body(mail.message, "html")
    if body is None:
        body = f"<pre>{html.escape(_body(mail.message, 'plain') or '')}</pre>"
    # Inline images are referenced as cid:<id>; point them at the sandbox so a browser can show them.
    body = body.replace("cid:", f"/sandbox/mail/{index}/cid/")
    return web.Response(text=body, content_type="text/html")


async def _inline_part(request: web.Request) -> web.Response:
    _, mail = _mail_at(request)
    wanted = f"<{request.match_info['cid']}>"
    for part in mail.message.walk():
        if part.get("Content-ID") == wanted:
            return web.Response(body=part.get_payload(decode=True), content_type=part.get_content_type())
    raise web.HTTPNotFound()


def _mail_at(request: web.Request) -> tuple[int, ReceivedMail]:
    index = int(request.match_info["index"])
    mails = request.app[MAILBOX].messages
    if index >= len(mails):
        raise web.HTTPNotFound()
    return index, mails[index]


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    content = part.get_content()
    return content if isinstance(content, str) else None

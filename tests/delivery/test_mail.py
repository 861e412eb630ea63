"""The ticket email over a real SMTP conversation (aiosmtplib → the sandbox mailbox), and its pages."""

from __future__ import annotations

import io
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar
from PIL import Image

from adapters.mail_smtp import SmtpEndpoint, SmtpMailSender, parse_smtp_url
from booking_core.tickets.content import qr_png
from booking_core.tickets.email import email_message
from booking_core.tickets.senders import PermanentDeliveryError, TransientDeliveryError
from sandbox.mailbox import Mailbox, setup_mailbox_pages, start_mailbox
from tests.delivery.conftest import make_view

FROM = "Marquee <tickets@marquee.example>"


def ticket_email(to: str = "ann@example.com") -> EmailMessage:
    return email_message(make_view(theatre_ticket_id=None), FROM, to)


async def test_the_ticket_email_arrives_with_both_bodies_inline_qr_and_calendar_entry(
    mailbox: Mailbox,
) -> None:
    view = make_view()
    message = email_message(view, FROM, "Ann <ann@example.com>")

    message_id = await SmtpMailSender(mailbox.url, timeout=5).send(message)

    [received] = mailbox.messages
    assert message_id == received.message["Message-ID"] == message["Message-ID"]
    assert received.mail_from == "tickets@marquee.example"
    assert received.rcpt_tos == ("ann@example.com",)
    got = received.message
    assert got["Subject"] == "Your ticket: Dune: Part Two, Saturday 14 June 2025, 19:30"

    text_part, html_part = got.get_body(preferencelist=("plain",)), got.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    for body in (text, html):
        assert view.code in body
        assert "Saturday 14 June 2025, 19:30" in body  # the cinema's local time, not 17:30 UTC
        assert "F7, F8, F9" in body and "37.50 EUR" in body and "Kino International" in body

    # The QR code is an inline part of the HTML's multipart/related, referenced by its Content-ID
    [cid] = re.findall(r"src='cid:([^']+)'", html)
    [image] = [part for part in got.walk() if part.get("Content-ID") == f"<{cid}>"]
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == qr_png(view.code)
    assert Image.open(io.BytesIO(image.get_content())).size == (290, 290)
    related = next(part for part in got.walk() if part.get_content_type() == "multipart/related")
    assert [part.get_content_type() for part in related.iter_parts()] == ["text/html", "image/png"]

    # The calendar entry parses and holds the show in UTC, ending after the film's runtime
    [ics] = [part for part in got.iter_attachments() if part.get_filename() == "ticket.ics"]
    assert ics.get_content_type() == "text/calendar"
    raw = ics.get_payload(decode=True)
    assert isinstance(raw, bytes)
    assert b"DTSTART:20250614T173000Z" in raw
    [event] = Calendar.from_ical(raw).walk("VEVENT")
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start == datetime(2025, 6, 14, 17, 30, tzinfo=UTC) and start.utcoffset() == timedelta(0)
    assert end - start == timedelta(minutes=166)
    assert view.code in str(event["DESCRIPTION"]) and "Karl-Marx-Allee" in str(event["LOCATION"])


async def test_a_refused_mailbox_is_permanent_and_a_busy_one_transient(mailbox: Mailbox) -> None:
    mailbox.refusals["nobody@example.com"] = "550 5.1.1 No such user"
    mailbox.refusals["full@example.com"] = "452 4.2.2 Mailbox full, try later"
    sender = SmtpMailSender(mailbox.url, timeout=5)

    with pytest.raises(PermanentDeliveryError) as permanent:
        await sender.send(ticket_email("nobody@example.com"))
    with pytest.raises(TransientDeliveryError) as transient:
        await sender.send(ticket_email("full@example.com"))

    assert permanent.value.code == "smtp-550"
    assert transient.value.code == "smtp-452"
    assert mailbox.messages == []


async def test_an_unreachable_server_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    with pytest.raises(TransientDeliveryError):
        await SmtpMailSender(f"smtp://127.0.0.1:{closed_port}", timeout=2).send(ticket_email())


@pytest.fixture
def guarded_mailbox() -> Iterator[Mailbox]:
    server = start_mailbox(credentials=("marquee", "s3cret/pass"))
    yield server
    server.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_login_from_the_url_is_used(guarded_mailbox: Mailbox) -> None:
    port = guarded_mailbox.port
    good = f"smtp://marquee:s3cret%2Fpass@127.0.0.1:{port}"
    bad = f"smtp://marquee:wrong@127.0.0.1:{port}"

    await SmtpMailSender(good, timeout=5).send(ticket_email())
    with pytest.raises(PermanentDeliveryError) as caught:
        await SmtpMailSender(bad, timeout=5).send(ticket_email())

    assert caught.value.code == "smtp-535"
    assert len(guarded_mailbox.messages) == 1


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        (
            "smtp://127.0.0.1:2525",
            SmtpEndpoint("127.0.0.1", 2525, None, None, use_tls=False, start_tls=False),
        ),
        ("smtp://mail.example", SmtpEndpoint("mail.example", 25, None, None, use_tls=False, start_tls=False)),
        (
            "smtp+starttls://u%40x:p%3Aw@mail.example",
            SmtpEndpoint("mail.example", 587, "u@x", "p:w", use_tls=False, start_tls=True),
        ),
        (
            "smtps://u:p@mail.example",
            SmtpEndpoint("mail.example", 465, "u", "p", use_tls=True, start_tls=False),
        ),
    ],
)
def test_smtp_urls_are_parsed(url: str, endpoint: SmtpEndpoint) -> None:
    assert parse_smtp_url(url) == endpoint


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "mail.example:25"])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="SMTP_URL"):
        parse_smtp_url(url)


async def test_sandbox_pages_list_the_mail_and_show_its_html_with_the_qr(mailbox: Mailbox) -> None:
    view = make_view()
    await SmtpMailSender(mailbox.url, timeout=5).send(email_message(view, FROM, "ann@example.com"))
    app = web.Application()
    setup_mailbox_pages(app, mailbox)

    async with TestClient(TestServer(app)) as client:
        listed = await (await client.get("/sandbox/mail")).json()
        page = await (await client.get("/sandbox/mail.html")).text()
        body = await (await client.get(listed[0]["html_url"])).text()
        [image_url] = re.findall(r"src='([^']+)'", body)
        image = await client.get(image_url)
        missing = await client.get("/sandbox/mail/7.html")

        assert listed[0]["rcpt_tos"] == ["ann@example.com"]
        assert listed[0]["subject"].startswith("Your ticket: Dune: Part Two")
        assert listed[0]["attachments"] == ["ticket.ics"]
        assert "Your ticket: Dune: Part Two" in page and "ann@example.com" in page
        assert view.code in body and image_url.startswith("/sandbox/mail/0/cid/")
        assert image.content_type == "image/png" and await image.read() == qr_png(view.code)
        assert missing.status == 404

"""The sandbox payment provider's checkout page: the customer pays, is declined or gives up, for real.

    GET  /sandbox/pay/{checkout_id}            the booking (movie, show, seats, amount) and three buttons
    POST /sandbox/pay/{checkout_id}/pay        complete it: our webhook gets checkout.session.completed
    POST /sandbox/pay/{checkout_id}/decline    a declined card: payment_intent.payment_failed, still payable
    POST /sandbox/pay/{checkout_id}/abandon    give up: the checkout expires (checkout.session.expired)
The webhooks go through the same public endpoint a real provider posts to, signed with the sandbox
secret, so paying here exercises the whole path. Served only while PAYMENT_PROVIDER=sandbox.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from adapters.payments_sandbox import SandboxCheckout, SandboxDelivery, SandboxPaymentProvider
from booking_core.database import SessionFactory
from booking_core.models import Booking, BookingLine, Hall, Show
from booking_core.payments.port import CheckoutNotFound, CheckoutNotOpen, ProviderUnavailable
from booking_core.tickets.content import format_money, format_show_time
from webhooks.keys import PAYMENT_PROVIDERS, SESSIONS, SETTINGS

CHECKOUT_PATH = "/sandbox/pay/{checkout_id}"
ACTION_PATH = "/sandbox/pay/{checkout_id}/{action:pay|decline|abandon}"
SANDBOX_WEBHOOK_PATH = "/webhooks/payments/sandbox"
_STYLE = (Path(__file__).with_name("sandbox_checkout.css")).read_text(encoding="utf-8")
_BACK_TO_TELEGRAM = "You can close this page and return to Telegram."
# Paid is not yet booked: the worker decides (a late payment for seats gone is refunded), and says so there.
_TICKET_FOLLOWS = "Marquee sends your ticket, or word of a refund, in Telegram. " + _BACK_TO_TELEGRAM


@dataclass(frozen=True)
class _BookingSummary:
    """What the page shows of the booking behind a checkout."""

    movie_title: str
    cinema_name: str
    hall_name: str
    starts_at_local: datetime
    seat_labels: tuple[str, ...]


async def checkout_page(request: web.Request) -> web.Response:
    """The checkout: what is being paid for, and Pay / Decline / Abandon."""
    provider = _sandbox(request)
    checkout = await provider.get_checkout(request.match_info["checkout_id"])
    if checkout is None:
        return _page("Checkout not found", _status("bad", "No such checkout", _BACK_TO_TELEGRAM), status=404)
    summary = await _booking_summary(request.app[SESSIONS], checkout.booking_id)
    body = _details(checkout, summary)
    if checkout.status == "open":
        actions = [("pay", f"Pay {format_money(checkout.amount_minor, checkout.currency)}", True)]
        actions += [("decline", "Decline (card refused)", False), ("abandon", "Abandon checkout", False)]
        body += _actions(checkout.checkout_id, actions)
    elif checkout.status == "complete":
        body = _status("ok", "Paid", _TICKET_FOLLOWS) + body
        body += _actions(checkout.checkout_id, [("pay", "Send the payment notice again", False)])
    else:
        body = (
            _status("warn", "This checkout has expired", "Nothing was charged. " + _BACK_TO_TELEGRAM) + body
        )
    return _page("Sandbox checkout", body)


async def checkout_action(request: web.Request) -> web.Response:
    """Pay, decline or abandon, post the provider's webhook to ourselves, and show what happened."""
    provider = _sandbox(request)
    checkout_id, action = request.match_info["checkout_id"], request.match_info["action"]
    webhook_url = request.app[SETTINGS].public_base_url + SANDBOX_WEBHOOK_PATH
    step = {"pay": provider.pay, "decline": provider.decline, "abandon": provider.abandon}[action]
    try:
        delivery = await step(checkout_id, webhook_url)
    except CheckoutNotFound:
        return _page("Checkout not found", _status("bad", "No such checkout", _BACK_TO_TELEGRAM), status=404)
    except CheckoutNotOpen as closed:
        outcome = _status(
            "warn", f"This checkout is {closed.status}", "Nothing changed. " + _BACK_TO_TELEGRAM
        )
        return _page("Sandbox checkout", outcome + _back_link(checkout_id), status=409)
    except ProviderUnavailable:
        outcome = _status(
            "bad",
            "Marquee could not be told",
            f"The payment notice did not reach {webhook_url}. Try sending it again.",
        )
        return _page("Sandbox checkout", outcome + _back_link(checkout_id), status=502)
    return _page("Sandbox checkout", _result(action, delivery) + _back_link(checkout_id))


def _result(action: str, delivery: SandboxDelivery) -> str:
    if delivery.status >= 300:
        told = f"Marquee answered the payment notice with HTTP {delivery.status}: send it again below."
        return _status("bad", "Marquee did not accept the notice", told)
    if action == "pay":
        return _status("ok", "Payment complete", _TICKET_FOLLOWS)
    if action == "decline":
        return _status("warn", "Card declined", "Nothing was charged. You can try again from the checkout.")
    return _status("warn", "Checkout abandoned", "Nothing was charged. " + _BACK_TO_TELEGRAM)


def _sandbox(request: web.Request) -> SandboxPaymentProvider:
    provider = request.app[PAYMENT_PROVIDERS].get("sandbox")
    if not isinstance(provider, SandboxPaymentProvider):
        raise web.HTTPNotFound(text="the sandbox payment provider is not in use")
    return provider


async def _booking_summary(sessions: SessionFactory, booking_id: int) -> _BookingSummary | None:
    async with sessions() as session:
        booking = await session.scalar(
            select(Booking)
            .where(Booking.id == booking_id)
            .options(
                selectinload(Booking.show).selectinload(Show.movie),
                selectinload(Booking.show).selectinload(Show.hall).selectinload(Hall.cinema),
                selectinload(Booking.lines).selectinload(BookingLine.seat),
            )
        )
    if booking is None:
        return None
    show = booking.show
    seats = sorted((line.seat for line in booking.lines), key=lambda seat: (seat.row_index, seat.column))
    return _BookingSummary(
        movie_title=show.movie.title,
        cinema_name=show.hall.cinema.name,
        hall_name=show.hall.name,
        starts_at_local=show.starts_at.astimezone(ZoneInfo(show.hall.cinema.timezone)),
        seat_labels=tuple(seat.label for seat in seats),
    )


def _details(checkout: SandboxCheckout, summary: _BookingSummary | None) -> str:
    amount = html.escape(format_money(checkout.amount_minor, checkout.currency))
    if summary is None:
        rows = [("For", checkout.description)]
        title = checkout.description
    else:
        title = summary.movie_title
        rows = [
            ("Show", format_show_time(summary.starts_at_local)),
            ("Cinema", f"{summary.cinema_name}, {summary.hall_name}"),
            ("Seats", ", ".join(summary.seat_labels)),
        ]
    rows.append(("Booking", f"#{checkout.booking_id}"))
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows)
    return f'<section><h1>{html.escape(title)}</h1><p class="amount">{amount}</p><dl>{items}</dl></section>'


def _actions(checkout_id: str, actions: list[tuple[str, str, bool]]) -> str:
    forms = "".join(
        f'<form method="post" action="/sandbox/pay/{html.escape(checkout_id)}/{action}">'
        f'<button type="submit"{" class=primary" if primary else ""}>{html.escape(label)}</button></form>'
        for action, label, primary in actions
    )
    return f'<div class="actions">{forms}</div>'


def _status(kind: str, headline: str, text: str) -> str:
    return (
        f'<section><div class="status {kind}"><strong>{html.escape(headline)}</strong>'
        f"{html.escape(text)}</div></section>"
    )


def _back_link(checkout_id: str) -> str:
    href = f"/sandbox/pay/{html.escape(checkout_id)}"
    return f'<section class="muted"><a href="{href}">Back to the checkout</a></section>'


def _page(title: str, body: str, *, status: int = 200) -> web.Response:
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · Marquee</title><style>{_STYLE}</style></head><body><main>"
        '<header><span class="brand">Marquee checkout</span><span class="badge">sandbox</span></header>'
        f"{body}<footer>A test payment page: no real money moves.</footer></main></body></html>"
    )
    return web.Response(text=page, content_type="text/html", status=status)


def setup_sandbox_checkout_routes(app: web.Application) -> None:
    """Add the sandbox checkout page and its three buttons."""
    app.router.add_get(CHECKOUT_PATH, checkout_page)
    app.router.add_post(ACTION_PATH, checkout_action)

"""The Stripe stand-in's hosted checkout page, as HTML: what a person sees at a session's `url`.

Only the views live here; sandbox/stripe_api.py serves them (`GET /c/pay/{id}`, `POST /c/pay/{id}`) and
does what the buttons say. The page shows what Stripe's would (the line items and the total, a back
link to the `cancel_url`), with Pay, a declined card, and after paying the way back (the
`success_url`) and "send the payment notice again" for a webhook Marquee did not take.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from aiohttp import web

_STYLE = Path(__file__).with_name("stripe_checkout.css").read_text(encoding="utf-8")
BACK_TO_TELEGRAM = "You can close this page and return to Telegram."
# Paid is not yet booked: Marquee decides (a late payment for seats gone is refunded), and says so there.
TICKET_FOLLOWS = "Marquee sends your ticket, or word of a refund, in Telegram. " + BACK_TO_TELEGRAM


class LineItem(NamedTuple):
    """One line of the session as its page lists it."""

    name: str
    quantity: int
    amount_minor: int


@dataclass(frozen=True)
class SessionView:
    """What the page shows of a Checkout Session."""

    session_id: str
    status: str  # open | complete | expired
    amount_minor: int
    currency: str
    line_items: tuple[LineItem, ...]
    success_url: str | None
    cancel_url: str | None

    @property
    def total(self) -> str:
        """The amount as people read it: `24.00 EUR`."""
        return money(self.amount_minor, self.currency)


def money(amount_minor: int, currency: str) -> str:
    """Minor units as `24.00 EUR` (every currency the stand-in takes has two decimals)."""
    return f"{amount_minor / 100:.2f} {currency.upper()}"


def session_page(view: SessionView) -> web.Response:
    """The page at the session's `url`: pay, or decline, while open; where things stand once closed."""
    if view.status == "open":
        actions = [("pay", f"Pay {view.total}", True), ("decline", "Use a declined card", False)]
        body = _details(view) + _actions(view.session_id, actions)
        body += _link(view.cancel_url, "Cancel and go back")
    elif view.status == "complete":
        body = status("ok", "Paid", TICKET_FOLLOWS) + _details(view) + _after_payment(view)
    else:
        body = status("warn", "This checkout has expired", "Nothing was charged. " + BACK_TO_TELEGRAM)
        body += _details(view)
    return page(body)


def outcome_page(view: SessionView, outcome: str, *, delivery_status: int | None) -> web.Response:
    """What a press did: `paid` or `declined`, and whether Marquee took the webhook that says so."""
    if delivery_status is not None and not 200 <= delivery_status < 300:
        told = (
            f"Marquee answered the payment notice with HTTP {delivery_status}: send it again below."
            if delivery_status
            else "The payment notice did not reach Marquee: send it again below."
        )
        body = status("bad", "Marquee did not accept the notice", told)
    elif outcome == "paid":
        body = status("ok", "Payment complete", TICKET_FOLLOWS)
    else:
        body = status("warn", "Card declined", "Nothing was charged. You can try again from the checkout.")
    body += _after_payment(view) if view.status == "complete" else back_to_checkout(view.session_id)
    return page(body)


def not_found() -> web.Response:
    """A session id the stand-in never issued."""
    return page(status("bad", "No such checkout", BACK_TO_TELEGRAM), http_status=404)


def refused(view: SessionView, why: str) -> web.Response:
    """A press the session's state does not allow (paying an expired session): nothing changed."""
    body = status("warn", f"This checkout is {view.status}", f"{why} Nothing changed. " + BACK_TO_TELEGRAM)
    return page(body + back_to_checkout(view.session_id), http_status=409)


def status(kind: str, headline: str, text: str) -> str:
    """A coloured box: `ok`, `warn` or `bad`."""
    return (
        f'<section><div class="status {kind}"><strong>{html.escape(headline)}</strong>'
        f"{html.escape(text)}</div></section>"
    )


def back_to_checkout(session_id: str) -> str:
    """A link back to the session's page (relative: the stand-in may be served under a path prefix)."""
    return _link(session_id, "Back to the checkout", relative=True)


def page(body: str, *, http_status: int = 200) -> web.Response:
    """The page around `body`: the stand-in's header and footer, styled without outside assets."""
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Checkout · Marquee</title><style>{_STYLE}</style></head><body><main>"
        '<header><span class="brand">Marquee</span><span class="badge">test mode</span></header>'
        f"{body}<footer>Stripe stand-in: a test payment page, no real money moves.</footer>"
        "</main></body></html>"
    )
    return web.Response(text=text, content_type="text/html", status=http_status)


def _details(view: SessionView) -> str:
    title = view.line_items[0].name if len(view.line_items) == 1 else f"{len(view.line_items)} items"
    rows = "".join(
        f"<dt>{html.escape(item.name)} × {item.quantity}</dt>"
        f"<dd>{html.escape(money(item.amount_minor * item.quantity, view.currency))}</dd>"
        for item in view.line_items
    )
    return (
        f'<section><h1>{html.escape(title)}</h1><p class="amount">{html.escape(view.total)}</p>'
        f"<dl>{rows}</dl></section>"
    )


def _actions(session_id: str, actions: list[tuple[str, str, bool]]) -> str:
    forms = "".join(
        f'<form method="post" action="{html.escape(session_id)}">'
        f'<input type="hidden" name="action" value="{action}">'
        f'<button type="submit"{" class=primary" if primary else ""}>{html.escape(label)}</button></form>'
        for action, label, primary in actions
    )
    return f'<div class="actions">{forms}</div>'


def _after_payment(view: SessionView) -> str:
    resend = _actions(view.session_id, [("resend", "Send the payment notice again", False)])
    return _link(view.success_url, "Return to Marquee") + resend


def _link(url: str | None, text: str, *, relative: bool = False) -> str:
    if not url or not (relative or url.startswith(("http://", "https://"))):
        return ""
    return f'<section class="muted"><a href="{html.escape(url)}">{html.escape(text)}</a></section>'

"""Payment provider webhooks: verify, store once, answer, enqueue (DESIGN.md section 5, step 2).

Nothing slow happens inside the request: the body is checked by the provider's `parse_webhook` (pure,
constant-time signature check and timestamp window) and stored under UNIQUE (provider, event id) (the
events of concurrent requests in one short transaction: booking_core.payments.inbox.PaymentInbox).
The provider is answered once its event is committed; the inbox sends the batch's jobs to the workers
meanwhile (`JobQueue.send_payment_events`), so a request does not wait on the broker. Answers:
    200 accepted | duplicate | ignored (a genuine event of a type we do not act on: not stored)
    400 a missing, forged or stale signature, or a body that is not an event: nothing stored
    404 no such provider configured; 413 body over MAX_BODY_BYTES
    503 the database could not store it: the provider retries later, nothing was written
An event stored whose job could not be enqueued (or whose process stopped before it was) still gets
200: it is durable, and the workers' periodic pass (workers/periodic.py) enqueues events left
unprocessed. On a graceful stop the sends under way finish first.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from booking_core import metrics
from booking_core.payments.inbox import PaymentInbox, inbox_backlog, parked_payment_events
from booking_core.payments.port import UnsupportedEvent, WebhookRejected
from webhooks.app import MAX_BODY_BYTES
from webhooks.keys import GAUGE_REFRESHERS, JOBS, PAYMENT_PROVIDERS, SESSIONS

log = logging.getLogger(__name__)

PAYMENT_WEBHOOK_PATH = "/webhooks/payments/{provider}"
METRICS_SOURCE = "payments"
# Past this the provider is better told to retry than kept waiting on a stuck database.
STORE_TIMEOUT_SECONDS = 5.0
INBOX = web.AppKey("payment_inbox", PaymentInbox)


async def payment_webhook(request: web.Request) -> web.Response:
    """Receive one provider webhook: verify it, store it once, enqueue its processing, answer."""
    provider = request.app[PAYMENT_PROVIDERS].get(request.match_info["provider"])
    if provider is None:
        return _answer(404, "unknown_provider")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _answer(413, "too_large")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _answer(413, "too_large")  # a chunked body without Content-Length that ran over

    try:
        event = provider.parse_webhook(body, request.headers)
        payload = body.decode("utf-8")
    except WebhookRejected as rejected:
        log.info("payment webhook from %s rejected: %s", provider.name, rejected)
        return _answer(400, "rejected", error=rejected.reason)
    except UnicodeDecodeError:
        return _answer(400, "rejected", error="malformed_body")
    except UnsupportedEvent as unsupported:
        # Signed and genuine, but nothing we act on: acknowledge so the provider stops sending it.
        log.debug("payment webhook ignored: %s", unsupported)
        return _answer(200, "ignored")

    try:
        async with asyncio.timeout(STORE_TIMEOUT_SECONDS):
            row_id = await request.app[INBOX].store(event, payload)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("payment event %s/%s not stored: %r", event.provider, event.event_id, exc)
        return _answer(503, "unavailable")
    return _answer(200, "duplicate" if row_id is None else "accepted")


def _answer(status: int, outcome: str, *, error: str | None = None) -> web.Response:
    metrics.WEBHOOKS.labels(source=METRICS_SOURCE, outcome=outcome).inc()
    body = {"status": outcome} if error is None else {"status": outcome, "error": error}
    return web.json_response(body, status=status)


def setup_payment_routes(app: web.Application) -> None:
    """Add POST /webhooks/payments/{provider} and the inbox gauges of /metrics (backlog, parked)."""
    app[INBOX] = PaymentInbox(app[SESSIONS], app[JOBS].send_payment_events)
    app.on_cleanup.append(lambda app: app[INBOX].aclose())
    app.router.add_post(PAYMENT_WEBHOOK_PATH, payment_webhook)

    async def refresh_inbox_gauges() -> None:
        waiting, lag_seconds = await inbox_backlog(app[SESSIONS])
        metrics.PAYMENT_EVENTS_WAITING.set(waiting)
        metrics.PAYMENT_EVENT_LAG.set(lag_seconds)
        metrics.PAYMENT_EVENTS_PARKED.set(await parked_payment_events(app[SESSIONS]))

    app[GAUGE_REFRESHERS].append(refresh_inbox_gauges)

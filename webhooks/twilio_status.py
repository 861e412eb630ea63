"""Twilio's SMS status callbacks: verify the signature, move the outbox row forward, answer.

Each ticket SMS is created with `adapters.sms_twilio.status_callback_url(...)`, which names its
outbox row by an unguessable reference in the query string (never the sequential row id); Twilio signs
the full public URL (query included) together with the POST parameters, so the reference is as
trustworthy as the rest of the callback. Only SMS rows are ever changed. The route exists only where
Twilio (or, in a demo, its stand-in) is configured: without its auth token nothing can be verified.
Answers:
    204 applied, or nothing to change (an early status, a repeat, a late one that would move back)
    403 no or a wrong X-Twilio-Signature: nothing changes
Behind a proxy the signature covers the URL Twilio called, so it is checked against PUBLIC_BASE_URL
plus the request's path, never the internal address this process listens on.
"""

from __future__ import annotations

import logging

from aiohttp import web

from adapters.sms_twilio import REFERENCE_PARAM, TWILIO_STATUS_PATH, verify_twilio_signature
from booking_core import metrics
from booking_core.database import SessionFactory
from booking_core.models import NotificationStatus, utc_now
from booking_core.tickets.outbox import mark_sms_sent, record_delivery_report
from webhooks.keys import SESSIONS, SETTINGS, TWILIO_AUTH_TOKEN

log = logging.getLogger(__name__)

METRICS_SOURCE = "twilio"

# Twilio's message statuses that change our row; queued, accepted, sending and scheduled do not.
_OUR_STATUS = {
    "sent": NotificationStatus.SENT,
    "delivered": NotificationStatus.DELIVERED,
    "read": NotificationStatus.DELIVERED,
    "undelivered": NotificationStatus.FAILED,
    "failed": NotificationStatus.FAILED,
    "canceled": NotificationStatus.FAILED,
}


async def twilio_status_callback(request: web.Request) -> web.Response:
    """Apply one signed status callback to its outbox row; refuse an unsigned or forged one."""
    settings = request.app[SETTINGS]
    auth_token = request.app[TWILIO_AUTH_TOKEN]
    form = await request.post()
    params = {name: str(value) for name, value in form.items()}
    public_url = settings.public_base_url + request.raw_path
    signature = request.headers.get("X-Twilio-Signature", "")
    if not verify_twilio_signature(auth_token, public_url, params, signature):
        log.warning("Twilio status callback refused: bad signature for %s", public_url)
        metrics.WEBHOOKS.labels(METRICS_SOURCE, "forged").inc()
        return web.Response(status=403, text="invalid signature")
    applied = await apply_status_report(
        request.app[SESSIONS],
        callback_ref=request.query.get(REFERENCE_PARAM),
        message_sid=params.get("MessageSid", ""),
        twilio_status=params.get("MessageStatus", ""),
        error_code=params.get("ErrorCode"),
    )
    metrics.WEBHOOKS.labels(METRICS_SOURCE, "applied" if applied else "unchanged").inc()
    return web.Response(status=204)


async def apply_status_report(
    sessions: SessionFactory,
    *,
    callback_ref: str | None,
    message_sid: str,
    twilio_status: str,
    error_code: str | None,
) -> bool:
    """Move the row forward by the reported status; False when it changes nothing."""
    status = _OUR_STATUS.get(twilio_status)
    if status is None or not message_sid:
        return False
    error = f"twilio {twilio_status}" + (f": error {error_code}" if error_code else "")
    report_error = error if status == NotificationStatus.FAILED else None
    if await record_delivery_report(sessions, message_sid, status, report_error):
        return True
    # Twilio may call back before the worker has stored the message sid: the row is still pending
    # then, and the callback itself records the sending (the worker's own mark_sent becomes a no-op).
    if not callback_ref or not await mark_sms_sent(sessions, callback_ref, utc_now(), message_sid):
        return False
    if status != NotificationStatus.SENT:
        await record_delivery_report(sessions, message_sid, status, report_error)
    return True


def setup_twilio_routes(app: web.Application) -> None:
    """Add POST /webhooks/twilio/status; the app must hold the auth token in app[TWILIO_AUTH_TOKEN]."""
    app.router.add_post(TWILIO_STATUS_PATH, twilio_status_callback)

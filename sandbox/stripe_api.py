"""A local stand-in for the parts of api.stripe.com Marquee calls, enough for the official stripe client.

    POST /v1/checkout/sessions               create (mode=payment, line_items[][price_data], metadata, ...)
    GET  /v1/checkout/sessions/{id}          retrieve
    POST /v1/checkout/sessions/{id}/expire   expire an open session (sends checkout.session.expired)
    POST /v1/refunds                         refund a paid payment intent or charge (sends charge.refunded)

Requests are form-encoded with bracketed keys and need `Authorization: Bearer <api key>` (401
otherwise). A POST with an `Idempotency-Key` replays its first successful answer; the same key with
other parameters is an `idempotency_error`. Bad input gets Stripe's `{"error": {...}}` with a 4xx.

The hosted checkout page, at each session's `url` (no auth, as on Stripe; views in stripe_checkout.py):
    GET  /c/pay/{id}                             the line items, the total, Pay, a declined card, and
                                                 the back link to the session's cancel_url
    POST /c/pay/{id}  action=pay                 pay: checkout.session.completed
                      action=decline             card declined: payment_intent.payment_failed (still open)
                      action=resend              post the completed event again (same event id)
    The page waits for Marquee's answer to the webhook and says whether it was taken.
Test controls (no auth), a customer's presses without the page:
    POST /sandbox/stripe/sessions/{id}/complete  pay: answers the signed checkout.session.completed
                                                 event (body + Stripe-Signature header)
    POST /sandbox/stripe/sessions/{id}/fail      card declined: answers payment_intent.payment_failed
    POST /sandbox/stripe/reset                   forget every object and idempotency key, as a fresh test
                                                 account (tests that share one stand-in, each with its
                                                 own database, so booking 1 is another booking each time)
Every event is signed with stripe's own `WebhookSignature` code and kept in `state.events`. It is
posted to `state.webhook_url` when set, else to the Marquee that opened the session: the address its
`success_url` returns to, plus /webhooks/payments/stripe, as if that endpoint were registered in
Stripe's dashboard (so one stand-in serves every Marquee on the machine). `state.fail_next(status)`
makes the next API calls fail (outages).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import stripe
from aiohttp import web

from sandbox import stripe_checkout
from sandbox.stripe_checkout import LineItem, SessionView

SANDBOX_API_KEY = "sk_test_marquee_standin"
SANDBOX_WEBHOOK_SECRET = "whsec_marquee_stripe_standin"
MIN_SESSION_SECONDS = 30 * 60
MAX_SESSION_SECONDS = 24 * 3600
WEBHOOK_TIMEOUT_SECONDS = 10.0
# Where Marquee sends customers back to (its PUBLIC_BASE_URL + this), and where it takes Stripe's events.
MARQUEE_RETURN_PATH = "/checkout/success"
MARQUEE_WEBHOOK_PATH = "/webhooks/payments/stripe"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class StripeApiError(Exception):
    """An answer in Stripe's error format: `{"error": {"type", "message", "code", "param"}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": kind, "message": message, "code": code, "param": param}}


@dataclass
class SignedEvent:
    """An event the stand-in emitted, exactly as it would be delivered."""

    event_type: str
    body: bytes
    signature: str
    delivery_status: int | None = None  # Marquee's HTTP answer to the webhook (0: unreachable)
    delivery: asyncio.Task[None] | None = field(default=None, repr=False, compare=False)

    async def delivered(self) -> int | None:
        """Wait for the latest delivery of this event; Marquee's HTTP answer (None: not posted)."""
        if self.delivery is not None:
            await asyncio.gather(self.delivery, return_exceptions=True)
        return self.delivery_status


@dataclass
class RecordedRequest:
    """An API request as received, so tests can check what the client really sent."""

    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None
    stripe_version: str | None


@dataclass
class StripeSandboxState:
    """Everything the stand-in knows; tests read and steer it directly."""

    api_key: str = SANDBOX_API_KEY
    webhook_secret: str = SANDBOX_WEBHOOK_SECRET
    base_url: str = ""
    webhook_url: str | None = None
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[SignedEvent] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    # Idempotency-Key -> (fingerprint of the request, status, answer)
    idempotent: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    # payment_intent_data[metadata] waits here until the session is paid and its intent exists.
    intent_metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    # What each session's hosted page lists, and the completed event of each paid session (to resend).
    line_items: dict[str, tuple[LineItem, ...]] = field(default_factory=dict)
    completions: dict[str, SignedEvent] = field(default_factory=dict)
    deliveries: set[asyncio.Task[None]] = field(default_factory=set)

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        """Answer the next `times` API calls with `status` (an api_error), as during an outage."""
        self.failures.extend([status] * times)

    def events_of(self, event_type: str) -> list[SignedEvent]:
        """The events emitted so far of one type, oldest first."""
        return [event for event in self.events if event.event_type == event_type]

    async def deliveries_done(self) -> None:
        """Wait until every webhook posted so far has been answered."""
        await asyncio.gather(*list(self.deliveries), return_exceptions=True)

    def reset(self) -> None:
        """Forget every session, payment, refund, event and idempotency key; keys and addresses stay."""
        for kept in (
            self.sessions,
            self.payment_intents,
            self.refunds,
            self.idempotent,
            self.intent_metadata,
        ):
            kept.clear()
        for listed in (self.events, self.requests, self.failures):
            listed.clear()
        self.line_items.clear()
        self.completions.clear()

    def sign(self, event_type: str, obj: dict[str, Any]) -> SignedEvent:
        """An event about `obj` signed with the webhook secret, neither kept nor posted.

        Tests use it for what Stripe might send but the stand-in's own flow does not (repeats, late or
        out-of-order events, another amount).
        """
        public = {key: value for key, value in obj.items() if not key.startswith("_")}
        payload = json.dumps(
            {
                "id": f"evt_{secrets.token_hex(12)}",
                "object": "event",
                "api_version": stripe.api_version,
                "created": int(time.time()),
                "data": {"object": public},
                "livemode": False,
                "pending_webhooks": 1,
                "type": event_type,
            },
            indent=2,  # Stripe sends pretty-printed JSON: the signature must cover these exact bytes
        )
        signature = stripe.WebhookSignature.generate_signature_header(payload, self.webhook_secret)
        return SignedEvent(event_type=event_type, body=payload.encode(), signature=signature)

    def webhook_url_for(self, session: dict[str, Any]) -> str | None:
        """Where events about `session` are posted: `webhook_url`, else the Marquee that opened it."""
        if self.webhook_url:
            return self.webhook_url
        success_url = session.get("success_url") or ""
        base, found, _ = success_url.partition(MARQUEE_RETURN_PATH)
        return base + MARQUEE_WEBHOOK_PATH if found else None


_STATE = web.AppKey("stripe_sandbox_state", StripeSandboxState)
_HTTP = web.AppKey("stripe_sandbox_http", aiohttp.ClientSession)
_PARAMS = web.RequestKey("stripe_params", dict)


def create_stripe_sandbox_app(state: StripeSandboxState) -> web.Application:
    """The stand-in as an aiohttp application."""
    app = web.Application(middlewares=[_api_gate])
    app[_STATE] = state
    app.cleanup_ctx.append(_webhook_client)
    app.router.add_post("/v1/checkout/sessions", _create_session)
    app.router.add_get("/v1/checkout/sessions/{id}", _retrieve_session)
    app.router.add_post("/v1/checkout/sessions/{id}/expire", _expire_session)
    app.router.add_post("/v1/refunds", _create_refund)
    app.router.add_post("/sandbox/stripe/sessions/{id}/complete", _complete_session)
    app.router.add_post("/sandbox/stripe/sessions/{id}/fail", _fail_session)
    app.router.add_post("/sandbox/stripe/reset", _reset)
    app.router.add_get("/c/pay/{id}", _hosted_page)
    app.router.add_post("/c/pay/{id}", _hosted_page_action)
    return app


async def start_stripe_sandbox(
    port: int = 0,
    api_key: str = SANDBOX_API_KEY,
    webhook_secret: str = SANDBOX_WEBHOOK_SECRET,
    host: str = "127.0.0.1",
) -> tuple[web.AppRunner, str, StripeSandboxState]:
    """Serve the stand-in on host:port (0: any free port); returns (runner, base URL, state)."""
    state = StripeSandboxState(api_key=api_key, webhook_secret=webhook_secret)
    runner = web.AppRunner(create_stripe_sandbox_app(state))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    state.base_url = f"http://{host}:{runner.addresses[0][1]}"
    return runner, state.base_url, state


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding to nested data: `a[b][0][c]=v` -> {"a": {"b": [{"c": "v"}]}}."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", key)
        if match is None:
            raise StripeApiError(400, f"Invalid parameter name: {key}", param=key)
        path = [match[1], *re.findall(r"\[([^\[\]]*)\]", match[2])]
        node = root
        for depth in range(len(path) - 1):
            node = node.setdefault(path[depth], {})
            if not isinstance(node, dict):
                raise StripeApiError(400, f"Parameter {key} mixes a value and a hash", param=key)
            if path[depth + 1] == "":  # `a[]=x` appends
                path[depth + 1] = str(len(node))
        node[path[-1]] = value
    return _lists_from_indexed(root)


def _lists_from_indexed(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if value and all(key.isdigit() for key in value):
        indexes = sorted(int(key) for key in value)
        if indexes != list(range(len(indexes))):
            raise StripeApiError(400, "Array parameters must be indexed from 0 without gaps")
        return [_lists_from_indexed(value[str(index)]) for index in indexes]
    return {key: _lists_from_indexed(item) for key, item in value.items()}


@web.middleware
async def _api_gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Auth, injected outages, parameter parsing, idempotent replay and error answers for /v1."""
    state = request.app[_STATE]
    try:
        # The path below the stand-in's own base (it may be served under a prefix, as /stripe in the demo)
        path = request.path.removeprefix(urlsplit(state.base_url).path)
        if not path.startswith("/v1/"):
            return await handler(request)
        if request.headers.get("Authorization") != f"Bearer {state.api_key}":
            raise StripeApiError(401, "Invalid API Key provided")
        text = await request.text() if request.method == "POST" else request.query_string
        params = decode_form(parse_qsl(text, keep_blank_values=True))
        request[_PARAMS] = params
        key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
        state.requests.append(
            RecordedRequest(request.method, path, params, key, request.headers.get("Stripe-Version"))
        )
        if state.failures:
            raise StripeApiError(state.failures.pop(0), "An unknown error occurred", kind="api_error")
        if key is None:
            return await handler(request)
        return await _idempotent(state, key, request, handler)
    except StripeApiError as exc:
        return web.json_response(exc.body, status=exc.status)


async def _idempotent(
    state: StripeSandboxState, key: str, request: web.Request, handler: Handler
) -> web.StreamResponse:
    if len(key) > 255:
        raise StripeApiError(400, "Idempotency-Key must be at most 255 characters", kind="idempotency_error")
    fingerprint = hashlib.sha256(
        json.dumps([request.path, request[_PARAMS]], sort_keys=True).encode()
    ).hexdigest()
    if key in state.idempotent:
        first_fingerprint, status, answer = state.idempotent[key]
        if first_fingerprint != fingerprint:
            raise StripeApiError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they were first "
                "used with.",
                kind="idempotency_error",
            )
        return web.json_response(answer, status=status, headers={"Idempotent-Replayed": "true"})
    response = await handler(request)
    # Like Stripe, keep only answers of requests that ran: validation errors are not replayed.
    if isinstance(response, web.Response) and response.status < 400 and response.text is not None:
        state.idempotent[key] = (fingerprint, response.status, json.loads(response.text))
    return response


# -- Checkout Sessions ------------------------------------------------------------------------------


async def _create_session(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    params = request[_PARAMS]
    if params.get("mode") != "payment":
        raise StripeApiError(400, "The stand-in supports mode=payment only", param="mode")
    items, currency = _line_items(params.get("line_items"))
    amount = sum(item.amount_minor * item.quantity for item in items)
    metadata = _metadata(params.get("metadata"), "metadata")
    now = int(time.time())
    expires_at = _integer(params.get("expires_at", str(now + MAX_SESSION_SECONDS)), "expires_at")
    if not now + MIN_SESSION_SECONDS <= expires_at <= now + MAX_SESSION_SECONDS:
        raise StripeApiError(
            400,
            "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session "
            "creation.",
            param="expires_at",
        )
    for name in ("success_url", "cancel_url"):
        url = params.get(name)
        if url is not None and not str(url).startswith(("http://", "https://")):
            raise StripeApiError(400, f"Not a valid URL: {name}", param=name, code="url_invalid")
    session_id = f"cs_test_{secrets.token_hex(16)}"
    intent_data = params.get("payment_intent_data") or {}
    state.intent_metadata[session_id] = _metadata(
        intent_data.get("metadata"), "payment_intent_data[metadata]"
    )
    session = {
        "id": session_id,
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "created": now,
        "currency": currency,
        "expires_at": expires_at,
        "livemode": False,
        "metadata": metadata,
        "mode": "payment",
        "payment_intent": None,
        "payment_status": "unpaid",
        "status": "open",
        "success_url": params.get("success_url"),
        "url": f"{state.base_url}/c/pay/{session_id}",
    }
    state.sessions[session_id] = session
    state.line_items[session_id] = items
    return web.json_response(session)


async def _retrieve_session(request: web.Request) -> web.Response:
    return web.json_response(_session(request))


async def _expire_session(request: web.Request) -> web.Response:
    session = _session(request)
    _require_open(session, "expired")
    session.update(status="expired", url=None)
    _emit(request.app, "checkout.session.expired", session, session)
    return web.json_response(session)


async def _complete_session(request: web.Request) -> web.Response:
    return _event_answer(_pay(request.app, _session(request)))


async def _fail_session(request: web.Request) -> web.Response:
    return _event_answer(_decline(request.app, _session(request)))


async def _reset(request: web.Request) -> web.Response:
    request.app[_STATE].reset()
    return web.json_response({"reset": True})


def _pay(app: web.Application, session: dict[str, Any]) -> SignedEvent:
    """The customer pays: the session completes and checkout.session.completed goes out."""
    _require_open(session, "paid")
    if time.time() >= session["expires_at"]:
        session.update(status="expired", url=None)
        raise StripeApiError(400, "This Checkout Session has expired", code="checkout_session_expired")
    state = app[_STATE]
    intent = _payment_intent(state, session, "succeeded")
    session.update(status="complete", payment_status="paid", payment_intent=intent["id"], url=None)
    event = _emit(app, "checkout.session.completed", session, session)
    state.completions[session["id"]] = event
    return event


def _decline(app: web.Application, session: dict[str, Any]) -> SignedEvent:
    """The card is declined: payment_intent.payment_failed; the session stays open."""
    _require_open(session, "declined")
    intent = _payment_intent(app[_STATE], session, "requires_payment_method")
    intent["last_payment_error"] = {"code": "card_declined", "message": "Your card was declined."}
    return _emit(app, "payment_intent.payment_failed", intent, session)


def _resend(app: web.Application, session: dict[str, Any]) -> SignedEvent:
    """Post a paid session's completed event again, same id (as Stripe retries an unanswered one)."""
    event = app[_STATE].completions.get(session["id"])
    if event is None:
        raise StripeApiError(400, "This Checkout Session has not been paid")
    _post(app, event, session)
    return event


_PAGE_ACTIONS = {"pay": ("paid", _pay), "decline": ("declined", _decline), "resend": ("paid", _resend)}


async def _hosted_page(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    session = state.sessions.get(request.match_info["id"])
    if session is None:
        return stripe_checkout.not_found()
    return stripe_checkout.session_page(_view(state, session))


async def _hosted_page_action(request: web.Request) -> web.Response:
    """A press on the hosted page; the answer waits for Marquee's answer to the webhook it sent."""
    state = request.app[_STATE]
    session = state.sessions.get(request.match_info["id"])
    if session is None:
        return stripe_checkout.not_found()
    action = (await request.post()).get("action")
    if not isinstance(action, str) or action not in _PAGE_ACTIONS:
        unknown = stripe_checkout.status("bad", "Unknown action", f"{action!r}: pay, decline or resend")
        return stripe_checkout.page(unknown, http_status=400)
    outcome, step = _PAGE_ACTIONS[action]
    try:
        event = step(request.app, session)
    except StripeApiError as refusal:
        return stripe_checkout.refused(_view(state, session), str(refusal))
    delivery_status = await event.delivered()
    return stripe_checkout.outcome_page(_view(state, session), outcome, delivery_status=delivery_status)


def _view(state: StripeSandboxState, session: dict[str, Any]) -> SessionView:
    status = session["status"]
    if status == "open" and time.time() >= session["expires_at"]:
        status = "expired"
    return SessionView(
        session_id=session["id"],
        status=status,
        amount_minor=session["amount_total"],
        currency=session["currency"],
        line_items=state.line_items.get(session["id"], ()),
        success_url=_filled(session["success_url"], session["id"]),
        cancel_url=_filled(session["cancel_url"], session["id"]),
    )


def _filled(url: str | None, session_id: str) -> str | None:
    """A return URL as Stripe sends the customer there: {CHECKOUT_SESSION_ID} replaced."""
    return url.replace("{CHECKOUT_SESSION_ID}", session_id) if url else None


# -- Refunds ----------------------------------------------------------------------------------------


async def _create_refund(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    params = request[_PARAMS]
    intent_id = params.get("payment_intent")
    if intent_id is None and isinstance(params.get("charge"), str):
        intent_id = next(
            (
                pi
                for pi, intent in state.payment_intents.items()
                if intent["latest_charge"] == params["charge"]
            ),
            None,
        )
        if intent_id is None:
            raise StripeApiError(404, f"No such charge: '{params['charge']}'", code="resource_missing")
    if intent_id is None:
        raise StripeApiError(400, "One of `charge` or `payment_intent` is required", param="payment_intent")
    intent = state.payment_intents.get(intent_id)
    if intent is None:
        raise StripeApiError(404, f"No such payment_intent: '{intent_id}'", code="resource_missing")
    if intent["status"] != "succeeded":
        raise StripeApiError(
            400,
            f"PaymentIntent {intent_id} has not succeeded: nothing to refund",
            code="charge_not_refundable",
        )
    left = intent["amount"] - intent["amount_refunded"]
    amount = _integer(params.get("amount", str(left)), "amount")
    if amount <= 0:
        raise StripeApiError(400, "Refund amount must be positive", param="amount")
    if amount > left:
        raise StripeApiError(
            400,
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
            param="amount",
            code="amount_too_large",
        )
    intent["amount_refunded"] += amount
    refund = {
        "id": f"re_{secrets.token_hex(12)}",
        "object": "refund",
        "amount": amount,
        "charge": intent["latest_charge"],
        "created": int(time.time()),
        "currency": intent["currency"],
        "metadata": _metadata(params.get("metadata"), "metadata"),
        "payment_intent": intent_id,
        "status": "succeeded",
    }
    state.refunds[refund["id"]] = refund
    charge = {
        "id": intent["latest_charge"],
        "object": "charge",
        "amount": intent["amount"],
        "amount_refunded": intent["amount_refunded"],
        "currency": intent["currency"],
        "metadata": intent["metadata"],
        "payment_intent": intent_id,
        "refunded": intent["amount_refunded"] >= intent["amount"],
    }
    _emit(request.app, "charge.refunded", charge, state.sessions[intent["_session"]])
    return web.json_response(refund)


# -- pieces -----------------------------------------------------------------------------------------


def _session(request: web.Request) -> dict[str, Any]:
    session_id = request.match_info["id"]
    session = request.app[_STATE].sessions.get(session_id)
    if session is None:
        raise StripeApiError(
            404, f"No such checkout.session: '{session_id}'", code="resource_missing", param="session"
        )
    return session


def _require_open(session: dict[str, Any], action: str) -> None:
    if session["status"] != "open":
        raise StripeApiError(
            400,
            f'Only Checkout Sessions with a status in ["open"] can be {action}. '
            f'This Checkout Session has a status of "{session["status"]}".',
        )


def _payment_intent(state: StripeSandboxState, session: dict[str, Any], status: str) -> dict[str, Any]:
    """The session's payment intent (created on first use, as at confirmation on the hosted page)."""
    intent_id = session["payment_intent"] or next(
        (pi for pi, intent in state.payment_intents.items() if intent["_session"] == session["id"]), None
    )
    if intent_id is None:
        token = secrets.token_hex(12)
        intent_id = f"pi_{token}"
        state.payment_intents[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_refunded": 0,
            "currency": session["currency"],
            "latest_charge": f"ch_{token}",
            "metadata": state.intent_metadata.get(session["id"], {}),
            "_session": session["id"],
        }
    intent = state.payment_intents[intent_id]
    intent["status"] = status
    return intent


def _emit(app: web.Application, event_type: str, obj: dict[str, Any], session: dict[str, Any]) -> SignedEvent:
    """Sign an event about `obj` (of `session`), keep it, and post it to its webhook URL if there is one."""
    event = app[_STATE].sign(event_type, obj)
    app[_STATE].events.append(event)
    _post(app, event, session)
    return event


def _post(app: web.Application, event: SignedEvent, session: dict[str, Any]) -> None:
    state = app[_STATE]
    url = state.webhook_url_for(session)
    if url is None:
        return
    event.delivery = asyncio.create_task(_deliver(app[_HTTP], url, event))
    state.deliveries.add(event.delivery)
    event.delivery.add_done_callback(state.deliveries.discard)


async def _deliver(http: aiohttp.ClientSession, url: str, event: SignedEvent) -> None:
    headers = {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": event.signature}
    try:
        async with http.post(url, data=event.body, headers=headers) as response:
            event.delivery_status = response.status
    except (aiohttp.ClientError, TimeoutError):
        event.delivery_status = 0


def _event_answer(event: SignedEvent) -> web.Response:
    return web.Response(
        body=event.body, content_type="application/json", headers={"Stripe-Signature": event.signature}
    )


def _line_items(line_items: Any) -> tuple[tuple[LineItem, ...], str]:
    if not isinstance(line_items, list) or not line_items:
        raise StripeApiError(400, "Missing required param: line_items.", param="line_items")
    items, currencies = [], set()
    for index, item in enumerate(line_items):
        param = f"line_items[{index}]"
        price = item.get("price_data") if isinstance(item, dict) else None
        if not isinstance(price, dict):
            raise StripeApiError(400, f"{param} needs price_data (the stand-in has no Prices)", param=param)
        currency = price.get("currency", "")
        if not re.fullmatch(r"[a-z]{3}", currency):
            raise StripeApiError(400, f"Invalid currency: {currency}", param=f"{param}[price_data][currency]")
        product = price.get("product_data")
        if not isinstance(product, dict) or not product.get("name"):
            raise StripeApiError(
                400, "Missing required param: product_data[name].", param=f"{param}[price_data][product_data]"
            )
        unit_amount = _integer(price.get("unit_amount"), f"{param}[price_data][unit_amount]")
        quantity = _integer(item.get("quantity"), f"{param}[quantity]")
        if unit_amount < 0 or quantity < 1:
            raise StripeApiError(400, f"Invalid amount or quantity in {param}", param=param)
        items.append(LineItem(str(product["name"]), quantity, unit_amount))
        currencies.add(currency)
    if len(currencies) != 1:
        raise StripeApiError(400, "All line items must use the same currency", param="line_items")
    return tuple(items), currencies.pop()


def _metadata(value: Any, param: str) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict) or len(value) > 50:
        raise StripeApiError(400, f"Invalid {param}: a hash of at most 50 keys", param=param)
    for key, item in value.items():
        if len(key) > 40 or not isinstance(item, str) or len(item) > 500:
            raise StripeApiError(400, f"Invalid {param}[{key}]", param=f"{param}[{key}]")
    return dict(value)


def _integer(value: Any, param: str) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise StripeApiError(400, f"Invalid integer: {value}", param=param)
    return int(value)


async def _webhook_client(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_SECONDS)) as http:
        app[_HTTP] = http
        yield
        await app[_STATE].deliveries_done()

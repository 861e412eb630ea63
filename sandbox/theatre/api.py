"""Theatre API v1 over aiohttp: bearer tokens, idempotent POSTs and JSON errors (docs/theatre-api.md).

Built as a sub-application mounted at /v1, so its token check and idempotency store apply to the API
and not to the box office.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from sandbox.theatre.errors import Refusal
from sandbox.theatre.store import TheatreStore

STORE = web.AppKey("theatre_store", TheatreStore)
CLIENTS = web.AppKey("theatre_clients", Mapping[str, str])  # bearer token -> client name
CLIENT = web.RequestKey("theatre_client", str)  # the client the bearer token belongs to

MAX_SEATS_PER_LOCK = 20
MAX_TTL_SECONDS = 1800
MAX_KEY_LENGTH = 255
DEFAULT_WINDOW = timedelta(days=14)
MAX_WINDOW = timedelta(days=62)


def create_api_app(
    store: TheatreStore, clients: Mapping[str, str], inner: Sequence[Middleware] = ()
) -> web.Application:
    """The /v1 application: routes behind the bearer-token check and the idempotency store.

    `inner` middlewares run inside the idempotency store (the fault switches' slow requests).
    """
    app = web.Application(middlewares=[require_token, replay_by_idempotency_key, *inner])
    app[STORE] = store
    app[CLIENTS] = dict(clients)
    app.router.add_get("/schedule", get_schedule)
    app.router.add_get("/shows/{show}/seats", get_seats)
    app.router.add_post("/shows/{show}/locks", post_lock)
    app.router.add_delete("/locks/{lock}", delete_lock)
    app.router.add_post("/locks/{lock}/commit", post_commit)
    app.router.add_post("/tickets/{ticket}/cancel", post_cancel)
    return app


@web.middleware
async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a request without a known bearer token (401); remember whose token it is."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    client = None
    for known, name in request.app[CLIENTS].items():
        if hmac.compare_digest(token.encode(), known.encode()):
            client = name
    if scheme.lower() != "bearer" or client is None:
        raise Refusal(401, "unauthorized", "send Authorization: Bearer <token>")
    request[CLIENT] = client
    return await handler(request)


@web.middleware
async def replay_by_idempotency_key(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every POST carries an Idempotency-Key; a repeat of the same request gets the first answer again."""
    if request.method != "POST":
        return await handler(request)
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        raise Refusal(400, "idempotency_key_required", "send an Idempotency-Key header of 1-255 characters")
    if len(key) > MAX_KEY_LENGTH:
        raise Refusal(400, "invalid_request", f"the Idempotency-Key has over {MAX_KEY_LENGTH} characters")
    store, client = request.app[STORE], request[CLIENT]
    fingerprint = await _fingerprint(request)
    first = await store.call(store.keys.claim, client, key, fingerprint)
    if first is not None:
        status, text = first
        return web.Response(
            status=status, text=text, content_type="application/json", headers={"Idempotent-Replayed": "true"}
        )
    try:
        response = await handler(request)
    except Refusal as refusal:
        response = web.json_response(refusal.body(), status=refusal.status)
    except BaseException:
        store.keys.drop(client, key)  # synchronous on purpose: it must happen even when cancelled
        raise
    if isinstance(response, web.Response) and response.status < 500 and response.text is not None:
        await store.call(store.keys.finish, client, key, response.status, response.text)
    else:
        await store.call(store.keys.drop, client, key)
    return response


async def _fingerprint(request: web.Request) -> str:
    """Method, path and the body's JSON value: key order and spacing do not make another request."""
    raw = await request.read()
    try:
        body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except (UnicodeDecodeError, json.JSONDecodeError):
        body = raw  # not JSON: it is refused, but a repeat must still be the same request
    return hashlib.sha256(f"{request.method} {request.path_qs}\n".encode() + body).hexdigest()


async def get_schedule(request: web.Request) -> web.Response:
    """GET /v1/schedule?from=&to=: the chain's cinemas, halls, movies and shows in the window."""
    store = request.app[STORE]
    frm = _time_query(request, "from") or store.clock()
    to = _time_query(request, "to") or frm + DEFAULT_WINDOW
    if not timedelta(0) < to - frm <= MAX_WINDOW:
        raise Refusal(
            400, "invalid_request", f"'to' must be after 'from' and at most {MAX_WINDOW.days} days on"
        )
    return web.json_response(await store.call(store.schedule, frm.timestamp(), to.timestamp()))


async def get_seats(request: web.Request) -> web.Response:
    """GET /v1/shows/{show}/seats: sold and locked seats and the show's version."""
    store = request.app[STORE]
    return web.json_response(await store.call(store.seat_status, request.match_info["show"]))


async def post_lock(request: web.Request) -> web.Response:
    """POST /v1/shows/{show}/locks {seats, ttl_seconds, reference}: 201 lock, or 409 naming taken seats."""
    body = await _json_body(request)
    seats = _seats(body)
    ttl = _integer(body, "ttl_seconds", 1, MAX_TTL_SECONDS)
    reference = _text(body, "reference")
    store = request.app[STORE]
    lock = await store.call(store.lock, request[CLIENT], request.match_info["show"], seats, ttl, reference)
    return web.json_response(lock, status=201)


async def delete_lock(request: web.Request) -> web.Response:
    """DELETE /v1/locks/{lock}: 204, also when the lock had already expired or been released."""
    store = request.app[STORE]
    await store.call(store.release, request[CLIENT], request.match_info["lock"])
    return web.Response(status=204)


async def post_commit(request: web.Request) -> web.Response:
    """POST /v1/locks/{lock}/commit {reference, amount, currency}: 201 ticket, 410 expired, 409 gone."""
    body = await _json_body(request)
    reference = _text(body, "reference")
    amount = _integer(body, "amount", 0, 10**9)
    currency = _text(body, "currency")
    if len(currency) != 3 or not currency.isupper():
        raise Refusal(400, "invalid_request", "'currency' must be an ISO 4217 code such as EUR")
    store = request.app[STORE]
    sale = await store.call(
        store.commit, request[CLIENT], request.match_info["lock"], reference, amount, currency
    )
    return web.json_response(sale, status=201)


async def post_cancel(request: web.Request) -> web.Response:
    """POST /v1/tickets/{ticket}/cancel: 200 with the cancelled ticket."""
    store = request.app[STORE]
    return web.json_response(await store.call(store.cancel, request[CLIENT], request.match_info["ticket"]))


def _time_query(request: web.Request, name: str) -> datetime | None:
    text = request.query.get(name)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Refusal(
            400,
            "invalid_request",
            f"'{name}' must be an RFC 3339 time with an offset, e.g. 2026-05-10T00:00:00Z"
            " (write a + offset as %2B: a bare + in a query string is a space)",
        )
    return moment


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Refusal(400, "invalid_request", "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise Refusal(400, "invalid_request", "the body must be a JSON object")
    return body


def _seats(body: dict[str, Any]) -> list[str]:
    seats = body.get("seats")
    if (
        not isinstance(seats, list)
        or not 1 <= len(seats) <= MAX_SEATS_PER_LOCK
        or not all(isinstance(seat, str) and 1 <= len(seat) <= 8 for seat in seats)
        or len(set(seats)) != len(seats)
    ):
        raise Refusal(
            400, "invalid_request", f"'seats' must list 1-{MAX_SEATS_PER_LOCK} different seat labels"
        )
    return seats


def _integer(body: dict[str, Any], name: str, low: int, high: int) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise Refusal(400, "invalid_request", f"'{name}' must be a whole number from {low} to {high}")
    return value


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= 200:
        raise Refusal(400, "invalid_request", f"'{name}' must be text of 1-200 characters")
    return value

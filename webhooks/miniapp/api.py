"""The Mini App's JSON API under /app/api/shows/{show_id}: the same core operations as the seat-map keyboard.

Every request carries `Authorization: tma <initData>`; the user is whoever validated initData names,
never a field of the request. A refusal is `{"error": {"code", "message"}}` with the codes and words
the bot uses (HoldRefusalReason, JoinRefusal, CheckoutRefusal), and changes nothing.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from booking_core.bookings.errors import CheckoutRefusal
from booking_core.holds.best_hold import no_block_free
from booking_core.holds.errors import HoldRefusalReason, HoldRefused, JoinRefused
from booking_core.holds.sale_queue import JoinRefused as QueueRefused
from booking_core.holds.seat_map import SeatMap
from booking_core.holds.types import Hold
from booking_core.holds.waitlist import WaitlistPosition
from booking_core.theatre.port import LOCAL_SYSTEM
from bot.checkout_flow import CheckoutNotOpened, Payer, open_checkout, remember_checkout_message
from bot.replies import send
from bot.seat_map.taps import none_side_by_side
from bot.views.hold_refusals import hold_refusal, join_refusal
from webhooks.keys import MINIAPP, SETTINGS
from webhooks.miniapp.context import MiniApp
from webhooks.miniapp.init_data import InitDataRejected, WebAppUser
from webhooks.miniapp.queue import join_queue, queue_place, queue_refusal
from webhooks.miniapp.show_state import (
    NamedStates,
    ShowHall,
    hold_answer,
    live_state,
    pushed_event,
    show_state,
)

PREFIX = "/app/api/shows/{show_id:[0-9]+}"
AUTH_SCHEME = "tma "
# More names than any booking may hold: a longer list is a malformed request, not a refusal.
MAX_SEAT_NAMES = 100
_HOLD_STATUS = {
    HoldRefusalReason.UNKNOWN_SEAT: 400,
    HoldRefusalReason.RATE_LIMITED: 429,
    HoldRefusalReason.THEATRE_UNAVAILABLE: 503,
}
NO_HOLD = "You hold no seats for this show any more (a hold lasts a few minutes)."


class ApiError(Exception):
    """A refusal the API answers with `{"error": {"code", "message"}}` and an HTTP status."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def response(self) -> web.Response:
        """The refusal as the API answers it."""
        body = {"error": {"code": self.code, "message": self.message, **self.details}}
        return web.json_response(body, status=self.status)


def _user(request: web.Request) -> WebAppUser:
    header = request.headers.get("Authorization", "")
    if not header.startswith(AUTH_SCHEME):
        raise ApiError(
            401, "unauthorized", "Open the seat map from the chat with the bot (no Telegram data)."
        )
    settings, miniapp = request.app[SETTINGS], request.app[MINIAPP]
    try:
        return miniapp.verified.user(
            header[len(AUTH_SCHEME) :],
            miniapp.bot_token,
            max_age_seconds=settings.MINIAPP_INIT_DATA_MAX_AGE_SECONDS,
            now=time.time(),
        )
    except InitDataRejected as rejected:
        raise ApiError(401, "unauthorized", str(rejected)) from None


async def _hall(miniapp: MiniApp, show_id: int) -> ShowHall:
    hall = await miniapp.halls.hall(show_id)
    if hall is None:
        raise ApiError(404, "unknown_show", "This show is no longer listed.")
    return hall


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "bad_request", "The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "The request body must be a JSON object.")
    return body


async def _state(
    miniapp: MiniApp,
    hall: ShowHall,
    user: WebAppUser,
    *,
    polled: bool = False,
    whole: bool = False,
    after: SeatMap | None = None,
) -> dict[str, Any]:
    """The user's view of the show: after an action (live part only) from the map the core answered it
    with (`after`), else read afresh; `polled` from the shared seat map of the last moment; `whole` with
    the hall."""
    holds, show_id = miniapp.core.holds, hall.details.show_id
    if polled:
        named, hold = await miniapp.seat_maps.seat_map(hall, user.id)
    else:
        seat_map = after or await holds.seat_map(show_id, user.id)
        named, hold = NamedStates.of(hall, seat_map), seat_map.your_hold
    position = await holds.waitlist.position(show_id, user.id) if named.waiting else None
    return (show_state if whole else live_state)(
        hall,
        named,
        hold,
        user.id,
        queue=await queue_place(miniapp, hall, user.id),
        waitlist_position=position.position if position else None,
        max_seats=miniapp.core.settings.MAX_SEATS_PER_BOOKING,
        now=datetime.now(UTC),
    )


def _hold_refused(hall: ShowHall, refusal: HoldRefused, max_seats: int) -> ApiError:
    names = hall.seat_names(refusal.seat_ids)
    message = hold_refusal(refusal.reason, names, max_seats=max_seats)
    return ApiError(_HOLD_STATUS.get(refusal.reason, 409), str(refusal.reason), message, seats=names)


Operation = Callable[[web.Request, MiniApp, ShowHall, WebAppUser], Awaitable[dict[str, Any]]]


def api_route(operation: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A handler: check initData, find the show, run `operation`, answer its JSON or the refusal."""

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            user = _user(request)
            miniapp = request.app[MINIAPP]
            hall = await _hall(miniapp, int(request.match_info["show_id"]))
            return web.json_response(await operation(request, miniapp, hall, user))
        except ApiError as error:
            return error.response()

    handler.__doc__ = operation.__doc__
    return handler


async def get_show(request: web.Request) -> web.StreamResponse:
    """The hall, every seat's state, your hold and the version; 304 when If-None-Match has that version.

    `?part=live` leaves the hall out (a page that has it polls so).
    """
    try:
        user = _user(request)
        miniapp = request.app[MINIAPP]
        hall = await _hall(miniapp, int(request.match_info["show_id"]))
        state = await _state(miniapp, hall, user, polled=True, whole=request.query.get("part") != "live")
    except ApiError as error:
        return error.response()
    etag = f'"{state["version"]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.json_response(state, headers=headers)


async def get_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the show's seat states each time they change, and which are yours."""
    try:
        user = _user(request)
        miniapp = request.app[MINIAPP]
        hall = await _hall(miniapp, int(request.match_info["show_id"]))
    except ApiError as error:
        return error.response()
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    async for named in miniapp.pushes.watch(hall):
        event = b": nothing new\n\n" if named is None else pushed_event(named, user.id)
        try:
            await response.write(event)
        except ConnectionResetError:
            break  # the page has gone
    return response


def _seat_names(body: dict[str, Any]) -> list[str]:
    names = body.get("seats")
    if (
        not isinstance(names, list)
        or len(names) > MAX_SEAT_NAMES
        or not all(isinstance(n, str) for n in names)
    ):
        raise ApiError(400, "bad_request", 'Send {"seats": ["F12", ...]}: the seats you want, by name.')
    return list(dict.fromkeys(names))


async def _locked(miniapp: MiniApp, hall: ShowHall, user: WebAppUser) -> None:
    """Refuse when no seat of a connected cinema's show can be held now (closed, or its system is down).

    A local show needs no look first: the hold script itself refuses a closed show.
    """
    if hall.details.cinema.system == LOCAL_SYSTEM:
        return
    current = await miniapp.core.holds.seat_map(hall.details.show_id, user.id)
    reason = HoldRefusalReason.SHOW_STARTED if current.closed else None
    if current.unavailable_reason is not None:
        reason = HoldRefusalReason.THEATRE_UNAVAILABLE
    if reason is not None:
        raise _hold_refused(hall, HoldRefused(reason), miniapp.core.settings.MAX_SEATS_PER_BOOKING)


async def post_hold(
    request: web.Request, miniapp: MiniApp, hall: ShowHall, user: WebAppUser
) -> dict[str, Any]:
    """Hold exactly these seats (your whole selection, all or nothing); an empty list lets your seats go.

    Answered with your hold alone: the page paints its own seats from it and everyone else's from its
    next poll (reading the whole map for every tap would cost more than the tap).
    """
    names = _seat_names(await _body(request))
    seat_ids, unknown = hall.seat_ids(names)
    max_seats, show_id = miniapp.core.settings.MAX_SEATS_PER_BOOKING, hall.details.show_id
    if unknown:
        message = hold_refusal(HoldRefusalReason.UNKNOWN_SEAT, unknown, max_seats=max_seats)
        raise ApiError(400, str(HoldRefusalReason.UNKNOWN_SEAT), message, seats=list(unknown))
    await _locked(miniapp, hall, user)
    result = await miniapp.core.holds.choose(show_id, user.id, seat_ids)
    if isinstance(result, HoldRefused):
        raise _hold_refused(hall, result, max_seats)
    return hold_answer(hall, result, datetime.now(UTC))


async def post_best(
    request: web.Request, miniapp: MiniApp, hall: ShowHall, user: WebAppUser
) -> dict[str, Any]:
    """Hold the best N seats side by side in place of your selection."""
    count = (await _body(request)).get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ApiError(400, "bad_request", 'Send {"count": N}: how many seats side by side, at least 1.')
    max_seats = miniapp.core.settings.MAX_SEATS_PER_BOOKING
    if count > max_seats:
        raise _hold_refused(hall, HoldRefused(HoldRefusalReason.TOO_MANY_SEATS), max_seats)
    outcome = await miniapp.core.holds.hold_best(hall.details.show_id, user.id, count)
    result = outcome.result
    if isinstance(result, HoldRefused) and result.reason == HoldRefusalReason.NO_SEATS_TOGETHER:
        none = no_block_free(hall.layout, outcome.seat_map, count)
        code = "too_few_seats" if none.too_few else "no_seats_together"
        raise ApiError(409, code, none_side_by_side(none))
    if isinstance(result, HoldRefused):
        raise _hold_refused(hall, result, max_seats)
    return await _state(miniapp, hall, user, after=outcome.seat_map)


async def post_release(
    request: web.Request, miniapp: MiniApp, hall: ShowHall, user: WebAppUser
) -> dict[str, Any]:
    """Let all your seats of the show go (an offer passes to the next person waiting)."""
    show_id = hall.details.show_id
    if await miniapp.core.holds.current_hold(show_id, user.id) is None:
        raise ApiError(409, str(CheckoutRefusal.HOLD_EXPIRED), NO_HOLD)
    await miniapp.core.holds.choose(show_id, user.id, [])
    return await _state(miniapp, hall, user)


def _plain(screen_text: str) -> str:
    """A bot screen's Telegram HTML as plain words for the page."""
    return html.unescape(re.sub(r"<[^>]+>", "", screen_text)).strip()


async def post_checkout(
    request: web.Request, miniapp: MiniApp, hall: ShowHall, user: WebAppUser
) -> dict[str, Any]:
    """Start paying for your hold, exactly as the bot's Pay: the checkout message goes to your chat."""
    core, show_id = miniapp.core, hall.details.show_id
    hold = await core.holds.current_hold(show_id, user.id)
    if hold is None:
        raise ApiError(409, str(CheckoutRefusal.HOLD_EXPIRED), NO_HOLD)
    # The private chat with the bot has the user's id.
    outcome = await open_checkout(
        core, hold, Payer(user.id, user.id, user.full_name), miniapp.run_in_background
    )
    if isinstance(outcome, CheckoutNotOpened):
        status = 409 if outcome.reason in set(CheckoutRefusal) else 503
        raise ApiError(status, outcome.reason, _plain(outcome.screen.text))
    message = await send(miniapp.bot, user.id, outcome.screen)
    await remember_checkout_message(core.redis, outcome, message)
    return {"booking_id": outcome.booking_id, "message": "Your checkout is in the chat: pay there."}


async def post_waitlist(
    request: web.Request, miniapp: MiniApp, hall: ShowHall, user: WebAppUser
) -> dict[str, Any]:
    """Join the show's waitlist for N seats (side by side unless "together": false)."""
    body = await _body(request)
    count, together = body.get("count"), body.get("together", True)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1 or not isinstance(together, bool):
        raise ApiError(400, "bad_request", 'Send {"count": N, "together": true}: how many seats you need.')
    max_seats = miniapp.core.settings.MAX_SEATS_PER_BOOKING
    outcome = await miniapp.core.holds.waitlist.join(hall.details.show_id, user.id, count, together=together)
    if isinstance(outcome, JoinRefused):
        raise ApiError(409, str(outcome.reason), join_refusal(outcome.reason, max_seats=max_seats))
    if isinstance(outcome, WaitlistPosition):
        message = f"You are number {outcome.position} on the waitlist. We will message you in the chat."
    elif isinstance(outcome, Hold):
        message = "Seats came free for you at once!"
    else:
        message = "You are not on the waitlist."
    return {**await _state(miniapp, hall, user), "message": message}


async def post_queue(
    request: web.Request, miniapp: MiniApp, hall: ShowHall, user: WebAppUser
) -> dict[str, Any]:
    """Take a place in a premiere's on-sale queue for N seats (again: your place is kept)."""
    count = (await _body(request)).get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ApiError(400, "bad_request", 'Send {"count": N}: how many seats you want, at least 1.')
    joined = await join_queue(miniapp, hall, user.id, count)
    if isinstance(joined, QueueRefused):
        raise ApiError(409, joined.reason, queue_refusal(joined))
    return {**await _state(miniapp, hall, user), "message": joined}


async def _close_pushes(app: web.Application) -> None:
    await app[MINIAPP].pushes.close()


def setup_miniapp_api_routes(app: web.Application) -> None:
    """The JSON API of the seat-map Mini App (its event streams end when the app shuts down)."""
    app.on_shutdown.append(_close_pushes)
    router = app.router
    router.add_get(PREFIX, get_show)
    router.add_get(f"{PREFIX}/events", get_events)
    router.add_post(f"{PREFIX}/hold", api_route(post_hold))
    router.add_post(f"{PREFIX}/best", api_route(post_best))
    router.add_post(f"{PREFIX}/release", api_route(post_release))
    router.add_post(f"{PREFIX}/checkout", api_route(post_checkout))
    router.add_post(f"{PREFIX}/waitlist", api_route(post_waitlist))
    router.add_post(f"{PREFIX}/queue", api_route(post_queue))

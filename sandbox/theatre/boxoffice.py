"""The theatre's own till: sells seats straight to sold, competing with every booking application.

`POST /boxoffice/shows/{show}/sell` takes JSON {"seats": [...]} (201 with the ticket, or 409 naming the
seats already taken) or the form of the seat-map page, which it answers with a redirect back.
No token: a real box office sits inside the theatre, not on the Theatre API.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from sandbox.box_office_page import seat_map_page, shows_page
from sandbox.theatre.api import STORE
from sandbox.theatre.errors import Refusal


def setup_box_office(app: web.Application) -> None:
    """Add the box office page and its sale endpoint to the theatre app."""
    app.router.add_get("/boxoffice", list_shows)
    app.router.add_get("/boxoffice/shows/{show}", show_page)
    app.router.add_post("/boxoffice/shows/{show}/sell", sell)


async def list_shows(request: web.Request) -> web.Response:
    """GET /boxoffice: upcoming shows with their free seats."""
    store = request.app[STORE]
    return shows_page("Box office", await store.call(store.upcoming_shows))


async def show_page(request: web.Request) -> web.Response:
    """GET /boxoffice/shows/{show}: the seat map; free seats can be ticked and sold."""
    store = request.app[STORE]
    seat_map = await store.call(store.seat_map, request.match_info["show"])
    return seat_map_page(request, seat_map["show"], seat_map["version"], seat_map["seats"])


async def sell(request: web.Request) -> web.Response:
    """POST /boxoffice/shows/{show}/sell: sell seats at the till (JSON, or the page's form)."""
    store, show_id = request.app[STORE], request.match_info["show"]
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body = None
        seats = body.get("seats") if isinstance(body, dict) else None
        if not isinstance(seats, list) or not seats or not all(isinstance(seat, str) for seat in seats):
            raise Refusal(400, "invalid_request", "'seats' must list seat labels")
        return web.json_response(
            await store.call(store.sell, show_id, list(dict.fromkeys(seats))), status=201
        )
    form = await request.post()
    seats = [str(seat) for seat in form.getall("seat", [])]
    try:
        if not seats:
            raise Refusal(400, "invalid_request", "tick at least one seat")
        sale = await store.call(store.sell, show_id, seats)
        query = {"sold": f"{sale['ticket_id']} ({', '.join(sale['seats'])})"}
    except Refusal as refusal:
        taken = refusal.details.get("seats")
        query = {"refused": refusal.message + (f": {', '.join(taken)}" if taken else "")}
    raise web.HTTPSeeOther(f"/boxoffice/shows/{show_id}?{urlencode(query)}")

"""The box-office page of a database-linked cinema: the till's seat maps, sales and cancellations.

The sandbox theatres' box-office page (sandbox.box_office_page), over the theatre database:
`GET /boxoffice`, `GET /boxoffice/shows/{show}`, `POST /boxoffice/shows/{show}/sell` (the seat-map form)
and `POST /boxoffice/tickets/{ticket}/cancel`, each answering with a redirect back to the show.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from sandbox.box_office_page import seat_map_page, shows_page
from sandbox.theatre_db import boxoffice
from sandbox.theatre_db.boxoffice import BoxOfficeRefusal

ENGINE = web.AppKey("theatre_db_engine", AsyncEngine)


def box_office_app(engine: AsyncEngine) -> web.Application:
    """The page as an aiohttp application over the theatre database."""
    app = web.Application()
    app[ENGINE] = engine
    app.router.add_get("/boxoffice", list_shows)
    app.router.add_get("/boxoffice/shows/{show}", show_page)
    app.router.add_post("/boxoffice/shows/{show}/sell", sell)
    app.router.add_post("/boxoffice/tickets/{ticket}/cancel", cancel)
    return app


async def list_shows(request: web.Request) -> web.Response:
    """GET /boxoffice: upcoming shows with their free seats."""
    return shows_page("Box office (theatre database)", await boxoffice.upcoming_shows(request.app[ENGINE]))


async def show_page(request: web.Request) -> web.Response:
    """GET /boxoffice/shows/{show}: the seat map, free seats to tick and sell, tickets to cancel."""
    engine, show_id = request.app[ENGINE], request.match_info["show"]
    try:
        seat_map = await boxoffice.seat_map(engine, show_id)
    except BoxOfficeRefusal as refusal:
        raise web.HTTPNotFound(text=str(refusal)) from None
    tickets = "".join(
        f"<tr><td>{escape(str(t['id']))}</td><td>{escape(str(t['application']))}</td>"
        f"<td>{escape(str(t['seats']))}</td><td>{t['amount']} {escape(str(t['currency']))}</td><td>"
        + (
            "cancelled"
            if t["cancelled"]
            else f'<form method="post" action="/boxoffice/tickets/{escape(str(t["id"]))}/cancel">'
            f'<input type="hidden" name="show" value="{escape(show_id)}"><button>Cancel</button></form>'
        )
        + "</td></tr>"
        for t in await boxoffice.tickets(engine, show_id)
    )
    return seat_map_page(
        request, seat_map.show, seat_map.version, seat_map.seats, f"<h2>Tickets</h2><table>{tickets}</table>"
    )


async def sell(request: web.Request) -> web.Response:
    """POST /boxoffice/shows/{show}/sell: sell the ticked seats at the till."""
    show_id = request.match_info["show"]
    form = await request.post()
    try:
        ticket = await boxoffice.sell(request.app[ENGINE], show_id, [str(s) for s in form.getall("seat", [])])
        query = {"sold": f"{ticket.ticket_id} ({', '.join(ticket.seats)})"}
    except BoxOfficeRefusal as refusal:
        query = {"refused": str(refusal)}
    raise web.HTTPSeeOther(f"/boxoffice/shows/{show_id}?{urlencode(query)}")


async def cancel(request: web.Request) -> web.Response:
    """POST /boxoffice/tickets/{ticket}/cancel: cancel a ticket, whoever sold it."""
    form = await request.post()
    show_id = str(form.get("show", ""))
    try:
        await boxoffice.cancel(request.app[ENGINE], request.match_info["ticket"])
        query = {"sold": f"cancelled {request.match_info['ticket']}"}
    except BoxOfficeRefusal as refusal:
        query = {"refused": str(refusal)}
    raise web.HTTPSeeOther(f"/boxoffice/shows/{show_id}?{urlencode(query)}")

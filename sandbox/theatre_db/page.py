"""The box-office page of a database-linked cinema: the till's seat maps, sales and cancellations.

The same page as the API sandbox's box office (sandbox.theatre.boxoffice), over the theatre database:
`GET /boxoffice`, `GET /boxoffice/shows/{show}`, `POST /boxoffice/shows/{show}/sell` (the seat-map form)
and `POST /boxoffice/tickets/{ticket}/cancel`, each answering with a redirect back to the show.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from sandbox.theatre.boxoffice import PAGE, _local, _note, _seat_cell
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
    shows = await boxoffice.upcoming_shows(request.app[ENGINE])
    rows = "".join(
        f"<tr><td>{escape(_local(float(str(show['starts_at'])), str(show['timezone'])))}</td>"
        f"<td>{escape(str(show['cinema']))}</td><td>{escape(str(show['hall']))}</td>"
        f'<td><a href="/boxoffice/shows/{escape(str(show["id"]))}">{escape(str(show["title"]))}</a></td>'
        f"<td>{show['free']} free</td></tr>"
        for show in shows
    )
    header = "<tr><th>When</th><th>Cinema</th><th>Hall</th><th>Film</th><th></th></tr>"
    body = f"<h1>Box office (theatre database)</h1><table>{header}{rows}</table>"
    return web.Response(text=PAGE.format(title="Box office", body=body), content_type="text/html")


async def show_page(request: web.Request) -> web.Response:
    """GET /boxoffice/shows/{show}: the seat map, free seats to tick and sell, tickets to cancel."""
    engine, show_id = request.app[ENGINE], request.match_info["show"]
    try:
        seat_map = await boxoffice.seat_map(engine, show_id)
    except BoxOfficeRefusal as refusal:
        raise web.HTTPNotFound(text=str(refusal)) from None
    show = seat_map["show"]
    seats = seat_map["seats"]
    assert isinstance(show, dict) and isinstance(seats, list)
    columns = max(seat["col"] for seat in seats)
    rows = {seat["row_index"]: seat["row_label"] for seat in seats}
    cells = "".join(
        f'<b style="grid-row: {index + 1}; grid-column: 1; align-self: center">{escape(label)}</b>'
        for index, label in rows.items()
    ) + "".join(_seat_cell(seat) for seat in seats)
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
    title = f"{show['title']}, {_local(show['starts_at'], show['timezone'])}"
    body = (
        f'<p><a href="/boxoffice">All shows</a></p><h1>{escape(title)}</h1>'
        f"<p>{escape(show['cinema'])}, {escape(show['hall'])} (version {seat_map['version']})</p>"
        f'{_note(request)}<form method="post" action="/boxoffice/shows/{escape(show_id)}/sell">'
        f'<div class="screen">screen</div>'
        f'<div class="hall" style="grid-template-columns: repeat({columns + 1}, 2.6rem)">{cells}</div>'
        f'<button type="submit">Sell the ticked seats</button></form>'
        f"<h2>Tickets</h2><table>{tickets}</table>"
    )
    return web.Response(text=PAGE.format(title=escape(title), body=body), content_type="text/html")


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

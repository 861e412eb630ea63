"""The theatre's own till: sells seats straight to sold, competing with every booking application.

`POST /boxoffice/shows/{show}/sell` takes JSON {"seats": [...]} (201 with the ticket, or 409 naming the
seats already taken) or the form of the seat-map page, which it answers with a redirect back.
No token: a real box office sits inside the theatre, not on the Theatre API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from sandbox.theatre.api import STORE
from sandbox.theatre.errors import Refusal

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; }} td, th {{ padding: .25rem .75rem; text-align: left; }}
.hall {{ display: grid; gap: 4px; margin: 1rem 0; }}
.seat {{ font-size: .75rem; text-align: center; padding: .3rem 0; border-radius: 4px;
        border: 1px solid #999; }}
.free {{ background: #e8f5e9; }} .locked {{ background: #fff3cd; }} .sold {{ background: #f8d7da; }}
.premium {{ border-color: #6f42c1; }} .wheelchair {{ border-style: dashed; }}
.screen {{ text-align: center; background: #ddd; margin: 1rem 0; }}
.note {{ padding: .5rem; background: #eef; }}
</style></head><body>{body}</body></html>"""


def setup_box_office(app: web.Application) -> None:
    """Add the box office page and its sale endpoint to the theatre app."""
    app.router.add_get("/boxoffice", list_shows)
    app.router.add_get("/boxoffice/shows/{show}", show_page)
    app.router.add_post("/boxoffice/shows/{show}/sell", sell)


def _local(timestamp: float, timezone: str) -> str:
    return datetime.fromtimestamp(timestamp, UTC).astimezone(ZoneInfo(timezone)).strftime("%a %d %b %H:%M")


async def list_shows(request: web.Request) -> web.Response:
    """GET /boxoffice: upcoming shows with their free seats."""
    store = request.app[STORE]
    shows = await store.call(store.upcoming_shows)
    rows = "".join(
        f"<tr><td>{escape(_local(show['starts_at'], show['timezone']))}</td><td>{escape(show['cinema'])}</td>"
        f'<td>{escape(show["hall"])}</td><td><a href="/boxoffice/shows/{escape(show["id"])}">'
        f"{escape(show['title'])}</a></td><td>{show['free']} free</td></tr>"
        for show in shows
    )
    header = "<tr><th>When</th><th>Cinema</th><th>Hall</th><th>Film</th><th></th></tr>"
    body = f"<h1>Box office</h1><table>{header}{rows}</table>"
    return web.Response(text=PAGE.format(title="Box office", body=body), content_type="text/html")


async def show_page(request: web.Request) -> web.Response:
    """GET /boxoffice/shows/{show}: the seat map; free seats can be ticked and sold."""
    store = request.app[STORE]
    seat_map = await store.call(store.seat_map, request.match_info["show"])
    show = seat_map["show"]
    columns = max(seat["col"] for seat in seat_map["seats"])
    rows = {seat["row_index"]: seat["row_label"] for seat in seat_map["seats"]}
    cells = "".join(
        f'<b style="grid-row: {index + 1}; grid-column: 1; align-self: center">{escape(label)}</b>'
        for index, label in rows.items()
    ) + "".join(_seat_cell(seat) for seat in seat_map["seats"])
    title = f"{show['title']}, {_local(show['starts_at'], show['timezone'])}"
    body = (
        f'<p><a href="/boxoffice">All shows</a></p><h1>{escape(title)}</h1>'
        f"<p>{escape(show['cinema'])}, {escape(show['hall'])} (version {seat_map['version']})</p>"
        f'{_note(request)}<form method="post" action="/boxoffice/shows/{escape(show["id"])}/sell">'
        f'<div class="screen">screen</div>'
        f'<div class="hall" style="grid-template-columns: repeat({columns + 1}, 2.6rem)">{cells}</div>'
        f'<button type="submit">Sell the ticked seats</button></form>'
    )
    return web.Response(text=PAGE.format(title=escape(title), body=body), content_type="text/html")


def _seat_cell(seat: dict[str, Any]) -> str:
    place = f"grid-row: {seat['row_index'] + 1}; grid-column: {seat['col'] + 1}"
    label = escape(seat["label"])
    disabled = "" if seat["state"] == "free" else " disabled"
    return (
        f'<label class="seat {seat["state"]} {escape(seat["category"])}" style="{place}" title="{label} '
        f'{escape(seat["category"])}, {seat["state"]}"><input type="checkbox" name="seat" value="{label}"'
        f"{disabled}><br>{label}</label>"
    )


def _note(request: web.Request) -> str:
    if "sold" in request.query:
        return f'<p class="note">Sold: ticket {escape(request.query["sold"])}</p>'
    if "refused" in request.query:
        return f'<p class="note">Not sold: {escape(request.query["refused"])}</p>'
    return ""


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

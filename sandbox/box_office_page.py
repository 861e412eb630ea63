"""The page a sandbox cinema's till is worked from, whichever way the cinema is linked.

Both sandbox theatres show it: the one behind the Theatre API (sandbox.theatre.boxoffice, over its
store) and the one whose box office writes its own database (sandbox.theatre_db.page). They read their
shows and seats their own way and hand them here as plain mappings; this module only draws:
`GET /boxoffice` lists the upcoming shows, `GET /boxoffice/shows/{show}` is a show's seat map as a form
whose ticked seats are posted to `/boxoffice/shows/{show}/sell`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

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


def html_page(title: str, body: str) -> web.Response:
    """The page with `title` (plain text) and `body` (HTML)."""
    return web.Response(text=PAGE.format(title=escape(title), body=body), content_type="text/html")


def local_time(timestamp: float, timezone: str) -> str:
    """A UTC timestamp as the cinema's wall clock shows it, e.g. "Sat 05 Dec 20:15"."""
    return datetime.fromtimestamp(timestamp, UTC).astimezone(ZoneInfo(timezone)).strftime("%a %d %b %H:%M")


def shows_page(heading: str, shows: Iterable[Mapping[str, Any]]) -> web.Response:
    """The list of shows: each with id, starts_at (UTC timestamp), timezone, cinema, hall, title, free."""
    rows = "".join(
        f"<tr><td>{escape(local_time(float(show['starts_at']), str(show['timezone'])))}</td>"
        f"<td>{escape(str(show['cinema']))}</td><td>{escape(str(show['hall']))}</td>"
        f'<td><a href="/boxoffice/shows/{escape(str(show["id"]))}">{escape(str(show["title"]))}</a></td>'
        f"<td>{show['free']} free</td></tr>"
        for show in shows
    )
    header = "<tr><th>When</th><th>Cinema</th><th>Hall</th><th>Film</th><th></th></tr>"
    return html_page("Box office", f"<h1>{escape(heading)}</h1><table>{header}{rows}</table>")


def seat_map_page(
    request: web.Request,
    show: Mapping[str, Any],
    version: object,
    seats: Sequence[Mapping[str, Any]],
    below: str = "",
) -> web.Response:
    """A show's seat map to sell from, with the note of the last sale; `below` is more HTML after it.

    `show` has id, title, starts_at (UTC timestamp), timezone, cinema and hall; each seat has label,
    row_label, row_index, col, category and state (free, locked or sold).
    """
    columns = max(seat["col"] for seat in seats)
    rows = {seat["row_index"]: seat["row_label"] for seat in seats}
    cells = "".join(
        f'<b style="grid-row: {index + 1}; grid-column: 1; align-self: center">{escape(str(label))}</b>'
        for index, label in rows.items()
    ) + "".join(_seat_cell(seat) for seat in seats)
    title = f"{show['title']}, {local_time(float(show['starts_at']), str(show['timezone']))}"
    body = (
        f'<p><a href="/boxoffice">All shows</a></p><h1>{escape(title)}</h1>'
        f"<p>{escape(str(show['cinema']))}, {escape(str(show['hall']))} (version {version})</p>"
        f'{_note(request)}<form method="post" action="/boxoffice/shows/{escape(str(show["id"]))}/sell">'
        f'<div class="screen">screen</div>'
        f'<div class="hall" style="grid-template-columns: repeat({columns + 1}, 2.6rem)">{cells}</div>'
        f'<button type="submit">Sell the ticked seats</button></form>{below}'
    )
    return html_page(title, body)


def _seat_cell(seat: Mapping[str, Any]) -> str:
    place = f"grid-row: {seat['row_index'] + 1}; grid-column: {seat['col'] + 1}"
    label = escape(str(seat["label"]))
    category = escape(str(seat["category"]))
    disabled = "" if seat["state"] == "free" else " disabled"
    return (
        f'<label class="seat {seat["state"]} {category}" style="{place}" title="{label} '
        f'{category}, {seat["state"]}"><input type="checkbox" name="seat" value="{label}"'
        f"{disabled}><br>{label}</label>"
    )


def _note(request: web.Request) -> str:
    """What the last sale or cancellation did, from the query of the redirect back to the page."""
    if "sold" in request.query:
        return f'<p class="note">Sold: ticket {escape(request.query["sold"])}</p>'
    if "refused" in request.query:
        return f'<p class="note">Not sold: {escape(request.query["refused"])}</p>'
    return ""

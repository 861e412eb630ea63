"""The Mini App's page: plain HTML, CSS and one script served by the web role (no build step, no CDN).

The page loads `telegram-web-app.js` from Telegram in production, or the sandbox's stand-in when the bot
talks to the sandbox Bot API, and then speaks only to the API under /app/api.
"""

from __future__ import annotations

import html
from importlib import resources
from string import Template

from aiohttp import web

from webhooks.keys import MINIAPP

_STATIC = {"miniapp.js": "application/javascript", "miniapp.css": "text/css"}
_PAGE = Template(resources.files("webhooks.miniapp").joinpath("page.html").read_text(encoding="utf-8"))


async def get_page(request: web.Request) -> web.Response:
    """The whole-hall page of one show."""
    page = _PAGE.substitute(
        web_app_script=html.escape(request.app[MINIAPP].web_app_script),
        show_id=int(request.match_info["show_id"]),
    )
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-cache"})


async def get_static(request: web.Request) -> web.Response:
    """The page's script and style."""
    name = request.match_info["name"]
    text = resources.files("webhooks.miniapp").joinpath(name).read_text(encoding="utf-8")
    return web.Response(text=text, content_type=_STATIC[name], headers={"Cache-Control": "no-cache"})


def setup_miniapp_page_routes(app: web.Application) -> None:
    """The page and its two static files."""
    app.router.add_get("/app/shows/{show_id:[0-9]+}", get_page)
    app.router.add_get(r"/app/static/{name:miniapp\.(js|css)}", get_static)

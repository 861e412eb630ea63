"""The Mini App's route group for the web app factory."""

from __future__ import annotations

from aiohttp import web

from webhooks.miniapp.api import setup_miniapp_api_routes
from webhooks.miniapp.page import setup_miniapp_page_routes


def setup_miniapp_routes(app: web.Application) -> None:
    """The Mini App's page and API (the role puts its collaborators under webhooks.keys.MINIAPP first)."""
    setup_miniapp_page_routes(app)
    setup_miniapp_api_routes(app)

"""A connected theatre for Marquee: Theatre API v1 on its own SQLite database, plus a box office."""

from sandbox.theatre.errors import Refusal
from sandbox.theatre.server import (
    MARQUEE_CLIENT,
    SANDBOX_TOKEN,
    TheatreFaults,
    TheatreSandbox,
    create_theatre_app,
    start_theatre_sandbox,
)
from sandbox.theatre.store import BOX_OFFICE, TheatreStore

__all__ = [
    "BOX_OFFICE",
    "MARQUEE_CLIENT",
    "SANDBOX_TOKEN",
    "Refusal",
    "TheatreFaults",
    "TheatreSandbox",
    "TheatreStore",
    "create_theatre_app",
    "start_theatre_sandbox",
]

"""The sandbox theatre as a running server: app factory, JSON errors, fault switches, start/stop.

`start_theatre_sandbox()` gives a theatre on 127.0.0.1 that tests and `main.py run` can point a
`THEATRE_SYSTEMS` entry at. `stop()` and `start()` take it down and bring it back on the same port,
and `faults` makes it hang or fail, to show what Marquee does when a theatre misbehaves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from sandbox.theatre.api import STORE, create_api_app
from sandbox.theatre.boxoffice import setup_box_office
from sandbox.theatre.errors import Refusal
from sandbox.theatre.store import TheatreStore

log = logging.getLogger(__name__)

SANDBOX_TOKEN = "theatre-sandbox-token"
MARQUEE_CLIENT = "marquee"
HTTP_ERROR_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}


class TheatreFaults:
    """Switches that make the Theatre API misbehave (the box office keeps working)."""

    def __init__(self) -> None:
        self.fail_next = 0  # answer 503 to this many API requests without doing them
        self.lose_next = 0  # do this many API requests, then answer 502: the answer is lost on the way
        self.garble_next = 0  # do this many API requests, then answer them with a body that is not JSON
        self.slow_next = 0  # take `slow_seconds` over this many API requests, their answers kept meanwhile
        self.slow_seconds = 1.5
        self.slowed = asyncio.Event()  # set once a slowed request has done its work and holds its key
        # Edits the next schedule answers before they are sent (a theatre with bad rows); None: none.
        self.edit_schedule: Callable[[dict[str, Any]], None] | None = None
        self._hanging: asyncio.Event | None = None

    def hang(self) -> None:
        """From now on API requests get no answer (a theatre that accepts but never replies)."""
        self._hanging = self._hanging or asyncio.Event()

    def unhang(self) -> None:
        """Answer again; requests that were hanging get 503."""
        if self._hanging is not None:
            self._hanging.set()
            self._hanging = None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Apply the switches to /v1 requests."""
        if not request.path.startswith("/v1/"):
            return await handler(request)
        if self._hanging is not None:
            await self._hanging.wait()
            raise Refusal(503, "unavailable", "the theatre was not answering")
        if self.fail_next > 0:
            self.fail_next -= 1
            raise Refusal(503, "unavailable", "the theatre is briefly unavailable")
        response = await handler(request)
        if self.lose_next > 0:
            self.lose_next -= 1
            raise Refusal(502, "bad_gateway", "the answer was lost on the way")
        if self.edit_schedule is not None and request.path == "/v1/schedule" and response.status == 200:
            assert isinstance(response, web.Response) and response.text is not None
            schedule = json.loads(response.text)
            self.edit_schedule(schedule)
            response = web.json_response(schedule)
        if self.garble_next > 0:
            self.garble_next -= 1
            # The work is done and its answer kept for a replay; only this copy arrives cut short.
            return web.Response(
                status=response.status, body=b'{"lock_id": "L-', content_type="application/json"
            )
        return response

    @web.middleware
    async def slow_work(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Inside the idempotency store: the request holds its key (409 request_in_progress) meanwhile."""
        if self.slow_next <= 0:
            return await handler(request)
        self.slow_next -= 1
        response = await handler(request)
        self.slowed.set()
        await asyncio.sleep(self.slow_seconds)
        return response


FAULTS = web.AppKey("theatre_faults", TheatreFaults)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error is JSON {"error": {"code", "message"}}; redirects pass through."""
    try:
        return await handler(request)
    except Refusal as refusal:
        return web.json_response(refusal.body(), status=refusal.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_ERROR_CODES.get(exc.status, "http_error")
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        body = {"error": {"code": code, "message": exc.reason}}
        return web.json_response(body, status=exc.status, headers=headers)
    except Exception:
        log.exception("theatre sandbox: %s %s failed", request.method, request.path)
        return web.json_response(
            {"error": {"code": "internal_error", "message": "internal error"}}, status=500
        )


def create_theatre_app(
    store: TheatreStore, clients: Mapping[str, str], faults: TheatreFaults
) -> web.Application:
    """The theatre: Theatre API v1 under /v1 and the box office under /boxoffice."""
    app = web.Application(middlewares=[json_errors, faults.middleware])
    app[STORE] = store
    app[FAULTS] = faults
    app.add_subapp("/v1", create_api_app(store, clients, inner=[faults.slow_work]))
    setup_box_office(app)
    return app


class TheatreSandbox:
    """A running sandbox theatre: its runner, URL, database (`store`) and fault switches.

    `runner.cleanup()` or `close()` ends it for good (database closed, a temporary one deleted);
    `stop()` only takes it off the network until `start()`.
    """

    def __init__(self, store: TheatreStore, clients: Mapping[str, str], host: str, port: int) -> None:
        self.store = store
        self.faults = TheatreFaults()
        app = create_theatre_app(store, clients, self.faults)
        app.on_cleanup.append(self._on_cleanup)
        self.runner = web.AppRunner(app, shutdown_timeout=1.0)
        self.host = host
        self.port = port
        self.running = False
        self._pausing = False
        self._closed = False
        self._temporary_dir: str | None = None

    @property
    def base_url(self) -> str:
        """Where the theatre listens, e.g. http://127.0.0.1:43121 (the API is under /v1)."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen (again) on the same port."""
        if self.running:
            return
        if self._closed:
            raise RuntimeError("this sandbox theatre is closed")
        await self.runner.setup()
        # A deep accept queue: a burst of more than 128 new connections otherwise waits out a SYN retry.
        site = web.TCPSite(self.runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = self.runner.addresses[0][1]
        self.running = True

    async def stop(self) -> None:
        """Stop listening and drop every connection: the theatre is down, its database kept."""
        if not self.running:
            return
        self._pausing = True
        try:
            self.faults.unhang()
            await self.runner.cleanup()
        finally:
            self._pausing = False

    async def close(self) -> None:
        """Stop for good and close the database (a temporary one is deleted)."""
        if self.running:
            self.faults.unhang()
            await self.runner.cleanup()
        self._release()

    async def _on_cleanup(self, app: web.Application) -> None:
        self.running = False
        if not self._pausing:
            self._release()

    def _release(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.store.close()
        if self._temporary_dir is not None:
            shutil.rmtree(self._temporary_dir, ignore_errors=True)


async def start_theatre_sandbox(
    port: int = 0,
    db_path: str | Path | None = None,
    token: str = SANDBOX_TOKEN,
    *,
    host: str = "127.0.0.1",
    other_clients: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] | None = None,
    guarded: bool = True,
) -> tuple[web.AppRunner, str, TheatreSandbox]:
    """Start a seeded sandbox theatre; returns (runner, base_url, sandbox); `runner.cleanup()` ends it.

    `token` is Marquee's; `other_clients` maps more tokens to other booking applications' names.
    Without `db_path` the database is a temporary file.
    """
    temporary_dir = None
    if db_path is None:
        temporary_dir = tempfile.mkdtemp(prefix="theatre-sandbox-")
        db_path = Path(temporary_dir) / "theatre.db"
    store = TheatreStore(str(db_path), clock=clock, guarded=guarded)
    clients = {token: MARQUEE_CLIENT, **(other_clients or {})}
    sandbox = TheatreSandbox(store, clients, host, port)
    sandbox._temporary_dir = temporary_dir
    try:
        await sandbox.start()
    except BaseException:
        await sandbox.close()
        raise
    return sandbox.runner, sandbox.base_url, sandbox

"""A tiny round-robin HTTP load balancer in front of several `web` processes, as production has one.

Every request (Telegram's webhook pushes, payment webhooks, checkout pages) goes to the next backend
in turn; the balancer counts what each backend was sent, so a test can see the load was split.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from tests.ops.services import free_port

# Headers that describe one hop's connection, not the request (RFC 9110 section 7.6.1).
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


@dataclass
class Balancer:
    """The balancer's public URL and what it forwarded to whom."""

    url: str
    backends: list[str]
    forwarded: Counter[tuple[str, str]] = field(default_factory=Counter)  # (backend, first path part)

    def sent_to(self, backend: str, path_prefix: str) -> int:
        """How many requests under `path_prefix` went to `backend`."""
        return sum(
            n for (to, path), n in self.forwarded.items() if to == backend and path.startswith(path_prefix)
        )


@asynccontextmanager
async def round_robin(backends: Sequence[str] = ()) -> AsyncIterator[Balancer]:
    """Serve the balancer on a free port of 127.0.0.1 for the duration of the block.

    Backends may be added to `Balancer.backends` later (the web processes need the balancer's URL as
    their public URL before they start); until there is one, requests get 503.
    """
    port = free_port()
    balancer = Balancer(f"http://127.0.0.1:{port}", list(backends))
    turns = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client:

        async def forward(request: web.Request) -> web.Response:
            nonlocal turns
            if not balancer.backends:
                return web.Response(status=503, text="no backend yet")
            backend = balancer.backends[turns % len(balancer.backends)]
            turns += 1
            balancer.forwarded[(backend, request.path)] += 1
            headers = {
                name: value for name, value in request.headers.items() if name.lower() not in _HOP_BY_HOP
            }
            try:
                async with client.request(
                    request.method,
                    backend + request.path_qs,
                    headers=headers,
                    data=await request.read(),
                    allow_redirects=False,
                ) as answer:
                    body = await answer.read()
                    # The client already decoded the body, so its Content-Encoding no longer applies.
                    kept = {
                        name: value
                        for name, value in answer.headers.items()
                        if name.lower() not in _HOP_BY_HOP and name.lower() != "content-encoding"
                    }
                    return web.Response(status=answer.status, body=body, headers=kept)
            except aiohttp.ClientError:
                return web.Response(status=502, text="bad gateway")

        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
        try:
            yield balancer
        finally:
            await runner.cleanup()

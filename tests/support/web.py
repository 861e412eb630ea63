"""Serving a stand's web apps on ports known before the apps are built (their URLs go into the settings)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


def free_local_socket() -> socket.socket:
    """A listening-ready TCP socket on 127.0.0.1 with a port the OS picked (known before the app starts)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def local_url(sock: socket.socket) -> str:
    """The http:// base URL of a socket from `free_local_socket`."""
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@asynccontextmanager
async def serving_on(app: web.Application, sock: socket.socket) -> AsyncIterator[str]:
    """Serve `app` on `sock` for the block, yielding its base URL; a second at most to finish at the end."""
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        yield local_url(sock)
    finally:
        await runner.cleanup()

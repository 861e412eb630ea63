"""The loop of a background pass (periodic sweeps, theatre sync): survive a failure, sleep until the next."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

log = logging.getLogger(__name__)


async def run_pass(name: str, work: Awaitable[object]) -> None:
    """Await one pass; a failure is logged and the loop goes on."""
    try:
        await work
    except Exception:
        # Redis, the database or a theatre may be down for a while: keep the loop alive for when they return.
        log.warning("periodic %s pass failed", name, exc_info=True)


async def wait_next(stop: asyncio.Event, started: float, interval: float) -> None:
    """Sleep until `interval` seconds after `started` (loop time), or until `stop` is set."""
    remaining = interval - (asyncio.get_running_loop().time() - started)
    if remaining > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=remaining)

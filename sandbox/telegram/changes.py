"""Waiting for changes: a signal that wakes every waiter, who then re-checks what they wait for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Signal:
    """Wakes every waiter whenever something changes; waiters re-check their own condition."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    @property
    def waiting(self) -> int:
        """How many are waiting now (tests wait for a long poll to be in place before they act)."""
        return sum(1 for waiter in self._waiters if not waiter.done())

    def fire(self) -> None:
        """Wake everyone waiting."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, seconds: float) -> None:
        """Return on the next change, or after `seconds`."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
            # that arrives just as the waiter is woken.
            async with asyncio.timeout(max(seconds, 0)):
                await waiter
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)

    async def until(self, check: Callable[[], T | None], seconds: float) -> T | None:
        """The first result of `check` that is not None, re-evaluated on each change; None after `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            result = check()
            remaining = deadline - time.monotonic()
            if result is not None or remaining <= 0:
                return result
            await self.wait(remaining)

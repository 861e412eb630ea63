"""Reads shared for a moment: the first read of a key is kept for some seconds and every request for that
key meanwhile gets it, including the ones that asked while it was still under way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
# Past this many keys kept, the expired ones are dropped.
MAX_KEYS = 1024


class SharedReads(Generic[T]):
    """Values by key, each read once per `seconds`; a read that fails is not kept."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._kept: dict[int, tuple[float, asyncio.Future[T]]] = {}

    async def get(self, key: int, read: Callable[[], Awaitable[T]]) -> T:
        """The kept value of `key`, or the value `read()` gives (then kept)."""
        now = self._clock()
        kept = self._kept.get(key)
        if kept is None or kept[0] <= now:
            if len(self._kept) > MAX_KEYS:
                self._kept = {k: entry for k, entry in self._kept.items() if entry[0] > now}
            kept = (now + self._seconds, asyncio.ensure_future(read()))
            self._kept[key] = kept
        try:
            return await asyncio.shield(kept[1])
        except Exception:
            if self._kept.get(key) is kept:
                del self._kept[key]
            raise

    def forget(self, key: int) -> None:
        """Read `key` afresh next time."""
        self._kept.pop(key, None)

"""Work of concurrent callers done in batches (group commit): one trip for all who wait at once.

A caller's item is handled by whichever caller takes the next turn, together with every item waiting
by then, and the caller gets its own item's result once that batch is done. One batch runs at a time,
so the callers of a busy moment share one transaction, lock turn or thread hop instead of queueing
for one each, while a lone caller is handled at once. Several kinds of batches may take turns with
each other (one lock for all): while one runs, the callers of the others gather for theirs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# Handles a batch: one result per item, in order; an item's result may be the exception it ends in.
Handle = Callable[[list[Item]], Awaitable[Sequence[Result | Exception]]]


class Batches(Generic[Item, Result]):
    """Runs `handle(items)` on the items of concurrent `submit` calls, a batch at a time.

    `handle` returns one result per item, in order, or for an item the exception its caller gets;
    should `handle` raise, every caller of that batch gets the exception. `most`: the largest batch
    (more wait for the next); `turn`: a lock other batches take their turns with too (default: its own).
    """

    def __init__(
        self, handle: Handle[Item, Result], *, most: int | None = None, turn: asyncio.Lock | None = None
    ) -> None:
        self._handle = handle
        self._most = most
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._turn = turn or asyncio.Lock()

    @property
    def waiting(self) -> int:
        """How many items wait for a batch now (those of the batch running do not count)."""
        return len(self._waiting)

    async def submit(self, item: Item) -> Result:
        """`item`'s result, once the batch it went into is done."""
        entry: tuple[Item, asyncio.Future[Result]] = (item, asyncio.get_running_loop().create_future())
        self._waiting.append(entry)
        try:
            async with self._turn:
                if not entry[1].done():
                    await self._handle_waiting()
        except asyncio.CancelledError:
            if entry in self._waiting:
                self._waiting.remove(entry)  # not handled: nothing was done for it
            raise
        return await entry[1]

    async def _handle_waiting(self) -> None:
        most = len(self._waiting) if self._most is None else self._most
        batch, self._waiting = self._waiting[:most], self._waiting[most:]
        try:
            results = await self._handle([item for item, _done in batch])
        except BaseException as exc:
            for _item, done in batch:
                if not done.done():
                    # Cancelled: whether its part of the batch took effect is not known.
                    lost = RuntimeError("the batch was cancelled before this item's result was known")
                    done.set_exception(exc if isinstance(exc, Exception) else lost)
            if not isinstance(exc, Exception):
                raise
            return
        for (_item, done), result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                done.set_exception(result)
            else:
                done.set_result(result)


async def alone(handle: Handle[Item, Result], item: Item) -> Result:
    """Handle one item without batches: its result, or raise its exception."""
    [result] = await handle([item])
    if isinstance(result, Exception):
        raise result
    return result

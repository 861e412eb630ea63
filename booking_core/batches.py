"""Work of concurrent callers done in batches (group commit): one trip for all who wait at once.

A caller's item is handled by whichever caller takes the next turn, together with every item waiting
by then, and the caller gets its own item's result once that batch is done. One batch runs at a time,
so the callers of a busy moment share one transaction, lock turn or thread hop instead of queueing
for one each, while a lone caller is handled at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batches(Generic[Item, Result]):
    """Runs `handle(items)` on the items of concurrent `submit` calls, a batch at a time.

    `handle` returns one result per item, in order; should it raise, every caller of that batch
    gets the exception.
    """

    def __init__(self, handle: Callable[[list[Item]], Awaitable[Sequence[Result]]]) -> None:
        self._handle = handle
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._turn = asyncio.Lock()

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
        batch, self._waiting = self._waiting, []
        try:
            results = await self._handle([item for item, _done in batch])
        except BaseException as exc:
            for _item, done in batch:
                if not done.done():
                    done.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
            if not isinstance(exc, Exception):
                raise
            return
        for (_item, done), result in zip(batch, results, strict=True):
            done.set_result(result)

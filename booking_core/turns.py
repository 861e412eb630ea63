"""Calls that arrive while one is running wait, then run together: one call of a batch function for all.

Used where one round trip (to SQL or Redis) can serve many callers at once: whoever takes the next
turn runs the batch function for every call waiting by then, and each caller gets its own result or
its own exception. The callers of one process, on one event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Arg = TypeVar("Arg")
Result = TypeVar("Result")

# Runs a batch: for each argument, in order, its result or the exception it ends in.
Batch = Callable[[Sequence[Arg]], Awaitable[Sequence[Result | Exception]]]


@dataclass(eq=False)
class _Call(Generic[Arg, Result]):
    arg: Arg
    done: asyncio.Future[Result] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Turns(Generic[Arg, Result]):
    """Takes turns at running `batch`, for every call waiting at a turn (at most `most` a turn).

    `turn`: a lock other steps take their turns with too (default: its own); steps that share one
    never run at once, so while one runs the callers of the others gather for theirs.
    """

    def __init__(self, batch: Batch[Arg, Result], most: int = 32, turn: asyncio.Lock | None = None) -> None:
        self._batch = batch
        self._most = most
        self._waiting: list[_Call[Arg, Result]] = []
        self._turn = turn or asyncio.Lock()

    @property
    def waiting(self) -> int:
        """How many calls wait for a turn now (those of the turn running do not count)."""
        return len(self._waiting)

    async def call(self, arg: Arg) -> Result:
        """`arg`'s result once a turn has run it with the others waiting then; raises what it ended in."""
        call: _Call[Arg, Result] = _Call(arg)
        self._waiting.append(call)
        try:
            # Callers resumed together (say, by one turn of an earlier step) come one after another:
            # the first lets the others queue before it takes the turn, so that they run together.
            await asyncio.sleep(0)
            async with self._turn:
                if not call.done.done():
                    await self._run_waiting()
        except asyncio.CancelledError:
            if call in self._waiting:
                self._waiting.remove(call)
            raise
        return await call.done

    async def _run_waiting(self) -> None:
        batch, self._waiting = self._waiting[: self._most], self._waiting[self._most :]
        try:
            results = await self._batch([call.arg for call in batch])
        except BaseException as exc:
            for call in batch:
                if not call.done.done():
                    # Cancelled: whether its part of the batch had taken effect is not known.
                    lost = RuntimeError("the turn was cancelled before this call's result was known")
                    call.done.set_exception(exc if isinstance(exc, Exception) else lost)
            if not isinstance(exc, Exception):
                raise
            return
        for call, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                call.done.set_exception(result)
            else:
                call.done.set_result(result)


async def alone(batch: Batch[Arg, Result], arg: Arg) -> Result:
    """Run `batch` for one argument, without turns; its result, or raise its exception."""
    [result] = await batch([arg])
    if isinstance(result, Exception):
        raise result
    return result

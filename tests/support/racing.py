"""Process pools for race tests: OS processes that start racing at one moment, spawned once a session.

A pool of N spawn-context processes shares one start line (a Barrier of N): a race gives it exactly N
jobs, each job waits at the line (`start_together`), and all of them start once the last is there, within
a millisecond or two of each other. A job blocks its process until the line opens, so each process takes
exactly one job of the race. The pools outlive the race: a spawned process costs about a second of
imports, which the next race of the session does not pay again (each job opens and closes its own
clients). A race that fails takes its pool with it, so no job left waiting holds up the next race.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.synchronize import Barrier
from typing import TypeVar

# How long a job waits at the start line for the others (a loaded machine's spawns).
START_WITHIN_SECONDS = 60.0
T = TypeVar("T")

# This process's start line, in a process of a racing pool.
_start_line: Barrier | None = None


def _at_start_line(barrier: Barrier) -> None:
    global _start_line
    _start_line = barrier


async def start_together() -> None:
    """In a job of a race: wait until the job of every process of the pool is here too."""
    assert _start_line is not None, "not in a racing pool"
    await asyncio.to_thread(_start_line.wait, START_WITHIN_SECONDS)


class RacingPools:
    """Pools of racing processes, one per number of processes, kept until `close`."""

    def __init__(self) -> None:
        self._pools: dict[int, ProcessPoolExecutor] = {}

    def _pool(self, processes: int) -> ProcessPoolExecutor:
        if processes not in self._pools:
            context = multiprocessing.get_context("spawn")
            self._pools[processes] = ProcessPoolExecutor(
                processes,
                mp_context=context,
                initializer=_at_start_line,
                initargs=(context.Barrier(processes),),
            )
        return self._pools[processes]

    async def race(self, jobs: Sequence[Callable[[], T]]) -> list[T]:
        """Run `jobs`, one per process of a pool of as many, each calling `start_together`; their results."""
        pool = self._pool(len(jobs))
        loop = asyncio.get_running_loop()
        try:
            return list(await asyncio.gather(*(loop.run_in_executor(pool, job) for job in jobs)))
        except BaseException:
            del self._pools[len(jobs)]
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    def close(self) -> None:
        """Stop every pool's processes."""
        for pool in self._pools.values():
            pool.shutdown()
        self._pools.clear()

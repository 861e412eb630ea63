"""Group commit: the items of concurrent callers handled a batch at a time, each caller told its own."""

from __future__ import annotations

import asyncio

import pytest

from booking_core.batches import Batches


class Doubler:
    """Doubles numbers a batch at a time, after a pause, and keeps each batch it was given."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.fail_next = False

    async def handle(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        failing, self.fail_next = self.fail_next, False
        await asyncio.sleep(0.01)
        if failing:
            raise ValueError("the batch failed")
        return [2 * item for item in items]


async def test_concurrent_callers_share_batches_and_each_gets_its_own_result() -> None:
    doubler = Doubler()
    batches = Batches(doubler.handle)

    results = await asyncio.gather(*(batches.submit(n) for n in range(20)))

    assert results == [2 * n for n in range(20)]
    # The first caller's batch is itself alone; everyone who came meanwhile shares the next.
    assert doubler.batches == [[0], list(range(1, 20))]


async def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_runs() -> None:
    doubler = Doubler()
    batches = Batches(doubler.handle)
    first = asyncio.create_task(batches.submit(1))
    await asyncio.sleep(0)  # the first batch, [1], is running
    doubler.fail_next = True  # ... and the one after it fails
    failing = [asyncio.create_task(batches.submit(n)) for n in (2, 3)]

    assert await first == 2
    for task in failing:
        with pytest.raises(ValueError, match="the batch failed"):
            await task
    assert await batches.submit(4) == 8
    assert doubler.batches == [[1], [2, 3], [4]]


async def test_a_caller_cancelled_before_its_batch_is_left_out_of_it() -> None:
    doubler = Doubler()
    batches = Batches(doubler.handle)
    first = asyncio.create_task(batches.submit(1))
    await asyncio.sleep(0)
    given_up, kept = asyncio.create_task(batches.submit(2)), asyncio.create_task(batches.submit(3))
    await asyncio.sleep(0)

    given_up.cancel()

    assert (await first, await kept) == (2, 6)
    assert given_up.cancelled()
    assert doubler.batches == [[1], [3]]

"""Settling transactions shared: the payments a process settles at the same time go into one transaction.

A confirmation waits for its settling transaction (booking_core.bookings.confirmation, step 2) here.
Whichever waiting confirmation takes the next turn (booking_core.batches) settles every one waiting by
then in one transaction: their bookings locked in one statement (in id order, so two processes never lock each
other's in opposite orders), then the group handed to the caller's `SettleGroup`, which settles each
payment by its own rules on its own booking and writes what they have in common together
(booking_core.bookings.confirmation: their payments read in one statement, their sales written in one
INSERT per table, their outcomes recorded in one statement, the changes flushed once at the commit).
On SQLite that is one turn of the database's single write lock for the lot instead of one each.

Each payment stays all-or-nothing: should any of them fail, nothing of the shared transaction is kept
and each is settled again in a transaction of its own, so only the failing one fails (and is retried
on its own), and no other payment's sale is lost with it. Two payments of one booking never share a
transaction: the second settles in a transaction after the first one's, and sees its outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from booking_core.batches import Batches
from booking_core.bookings.sale import locked_bookings
from booking_core.database import SessionFactory
from booking_core.models import Booking

Item = TypeVar("Item")
Settled = TypeVar("Settled")

log = logging.getLogger(__name__)

# Settles the payments of one transaction (items, each of its own booking), given their bookings locked
# (by id); flushing is left to the commit. It returns what each one's after-commit steps need, in order.
SettleGroup = Callable[[AsyncSession, Mapping[int, Booking], Sequence[Item]], Awaitable[Sequence[Settled]]]

# A bound on one transaction's length: more waiting than this settle in the turn after.
MOST_PER_TRANSACTION = 32


class SettlingTurns(Generic[Item, Settled]):
    """Takes turns at the database for one process's settling transactions, several payments a turn.

    `turn`: a lock other steps take their turns with too (default: its own).
    """

    def __init__(
        self,
        sessions: SessionFactory,
        settle_group: SettleGroup[Item, Settled],
        turn: asyncio.Lock | None = None,
    ) -> None:
        self._sessions = sessions
        self._settle_group = settle_group
        self._turns: Batches[tuple[int, Item], Settled] = Batches(
            self._settle_waiting, most=MOST_PER_TRANSACTION, turn=turn
        )

    @property
    def waiting(self) -> int:
        """How many settlements wait for a turn now (those settling do not count)."""
        return self._turns.waiting

    async def settle(self, booking_id: int, item: Item) -> Settled:
        """Settle `item` on its locked booking in a transaction, with whatever else waits then; its result.

        Returns once that transaction has committed; raises what settling it raised when alone. A
        payment whose turn was cancelled gets a RuntimeError (its commit may have landed: a redelivered
        message finds it settled).
        """
        return await self._turns.submit((booking_id, item))

    async def _settle_waiting(self, waiting: Sequence[tuple[int, Item]]) -> list[Settled | Exception]:
        results: dict[int, Settled | Exception] = {}
        pending = list(range(len(waiting)))
        while pending:
            # Two payments of one booking never share a transaction: the second settles in the next.
            batch: list[int] = []
            later: list[int] = []
            bookings: set[int] = set()
            for n in pending:
                (later if waiting[n][0] in bookings else batch).append(n)
                bookings.add(waiting[n][0])
            batch.sort(key=lambda n: waiting[n][0])
            results.update(await self._settle_batch([waiting[n] for n in batch], batch))
            pending = later
        return [results[n] for n in range(len(waiting))]

    async def _settle_batch(
        self, batch: list[tuple[int, Item]], positions: list[int]
    ) -> dict[int, Settled | Exception]:
        if len(batch) > 1:
            try:
                return dict(zip(positions, await self._settle_together(batch), strict=True))
            except Exception as exc:
                # Nothing of it was kept: each settles alone, and only the failing one fails.
                log.info(
                    "a shared settling transaction of %d payments failed (%r): each settles alone",
                    len(batch),
                    exc,
                )
        results: dict[int, Settled | Exception] = {}
        for position, waiting in zip(positions, batch, strict=True):
            try:
                [results[position]] = await self._settle_together([waiting])
            except Exception as exc:
                results[position] = exc
        return results

    async def _settle_together(self, batch: list[tuple[int, Item]]) -> Sequence[Settled]:
        async with self._sessions() as session, session.begin():
            locked = await locked_bookings(session, [booking_id for booking_id, _item in batch])
            return await self._settle_group(session, locked, [item for _booking_id, item in batch])

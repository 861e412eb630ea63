"""Settling transactions shared: the payments a process settles at the same time go into one transaction.

A confirmation waits for its settling transaction (booking_core.bookings.confirmation, step 2) here.
Whichever waiting confirmation takes the next turn settles every one waiting by then in one
transaction: their bookings locked in one statement (in id order, so two processes never lock each
other's in opposite orders), then the group handed to the caller's `SettleGroup`, which settles each
payment by its own rules on its own booking and writes what they have in common together
(booking_core.bookings.confirmation: their payments read in one statement, their sales written in one
INSERT per table, their outcomes recorded in one statement, the changes flushed once at the commit).
On SQLite that is one turn of the database's single write lock for the lot instead of one each.

Each payment stays all-or-nothing: should any of them fail, nothing of the shared transaction is kept
and each is settled again in a transaction of its own, so only the failing one fails (and is retried
on its own), and no other payment's sale is lost with it. Two payments of one booking never share a
transaction: the second waits for the next turn, and sees the first one's outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

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


@dataclass(eq=False)
class _Waiting(Generic[Item, Settled]):
    booking_id: int
    item: Item
    done: asyncio.Future[Settled] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


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
        self._waiting: list[_Waiting[Item, Settled]] = []
        self._turn = turn or asyncio.Lock()

    @property
    def waiting(self) -> int:
        """How many settlements wait for a turn now (the one settling does not count)."""
        return len(self._waiting)

    async def settle(self, booking_id: int, item: Item) -> Settled:
        """Settle `item` on its locked booking in a transaction, with whatever else waits then; its result.

        Returns once that transaction has committed; raises what settling it raised when alone.
        """
        entry: _Waiting[Item, Settled] = _Waiting(booking_id, item)
        self._waiting.append(entry)
        try:
            # Confirmations that arrive together (their reads done in one turn) resume one after
            # another: the first lets the others queue before it takes the turn, so they settle together.
            await asyncio.sleep(0)
            async with self._turn:
                if not entry.done.done():
                    await self._settle_waiting()
        except asyncio.CancelledError:
            if entry in self._waiting:
                self._waiting.remove(entry)  # not settled: its message is delivered again
            raise
        return await entry.done

    async def _settle_waiting(self) -> None:
        batch: list[_Waiting[Item, Settled]] = []
        later: list[_Waiting[Item, Settled]] = []
        bookings: set[int] = set()
        for entry in self._waiting:
            if entry.booking_id in bookings or len(batch) == MOST_PER_TRANSACTION:
                later.append(entry)  # its owner is queued for a turn: it settles in the next one
            else:
                bookings.add(entry.booking_id)
                batch.append(entry)
        self._waiting = later
        batch.sort(key=lambda entry: entry.booking_id)
        try:
            if len(batch) > 1:
                try:
                    await self._settle_together(batch)
                    return
                except Exception as exc:
                    # Nothing of it was kept: each settles alone, and only the failing one fails.
                    log.info(
                        "a shared settling transaction of %d payments failed (%r): each settles alone",
                        len(batch),
                        exc,
                    )
            for entry in batch:
                try:
                    await self._settle_together([entry])
                except Exception as exc:
                    entry.done.set_exception(exc)
        except BaseException:
            for entry in batch:
                if not entry.done.done():
                    # Its message is delivered again; a payment whose commit did land is found settled then.
                    entry.done.set_exception(
                        RuntimeError("settling cancelled before this payment was settled")
                    )
            raise

    async def _settle_together(self, batch: list[_Waiting[Item, Settled]]) -> None:
        async with self._sessions() as session, session.begin():
            locked = await locked_bookings(session, [entry.booking_id for entry in batch])
            settled = await self._settle_group(session, locked, [entry.item for entry in batch])
        for entry, result in zip(batch, settled, strict=True):
            entry.done.set_result(result)
